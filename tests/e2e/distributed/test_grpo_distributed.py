"""GRPO for 2 steps with 2 CPU processes (gloo) under DDP, ZeRO-2 and ZeRO-3: the run finishes, both ranks log
into one run directory, and the saved weights moved.

DeepSpeed JIT-compiles its CPU communication op on first use (~2 min here, cached in ~/.cache/torch_extensions),
so the ZeRO tests are also marked ``slow``; the DDP test runs in the default suite through launch/torchrun.sh.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
OVERRIDES = ["logger=none", "eval=none", "+debug=cpu_smoke", "trainer.learning_rate=1e-3",
             "+reward.funcs.hash._target_=rlpost.testing.HashReward", "+reward.weights.hash=1.0",
             "reward.weights.accuracy=0"]


def _env(run_dir: Path) -> dict[str, str]:
    env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "DS_ACCELERATOR": "cpu"}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_DEEPSPEED"):
        env.pop(key, None)
    return env


def _check_run(run_dir: Path, model_dir: Path, out: subprocess.CompletedProcess) -> str:
    import torch
    from safetensors.torch import load_file

    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert (run_dir / "rank0.log").is_file() and (run_dir / "rank1.log").is_file(), "ranks used different run dirs"
    assert (run_dir / "metrics.json").is_file()
    before, after = load_file(model_dir / "model.safetensors"), load_file(run_dir / "final" / "model.safetensors")
    moved = [n for n in before if not torch.equal(before[n], after[n])]
    assert moved, "no weight changed in 2 GRPO steps"
    return log


@pytest.mark.distributed
def test_grpo_ddp_two_processes_via_launcher(tmp_path: Path, tiny_model_dir: Path) -> None:
    run_dir = tmp_path / "run"
    cmd = [str(ROOT / "launch" / "torchrun.sh"), "2", "grpo", "model=tiny_random", f"model.path={tiny_model_dir}",
           *OVERRIDES]
    out = subprocess.run(cmd, env=_env(run_dir), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    log = _check_run(run_dir, tiny_model_dir, out)
    assert "DeepSpeed on CPU" not in log


@pytest.mark.distributed
@pytest.mark.slow
@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_grpo_deepspeed_two_cpu_processes(tmp_path: Path, tiny_model_dir: Path, stage: str) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "rlpost.train",
           "--config-name=grpo", "model=tiny_random", f"model.path={tiny_model_dir}", f"launch={stage}", *OVERRIDES]
    out = subprocess.run(cmd, env=_env(run_dir), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = _check_run(run_dir, tiny_model_dir, out)
    assert "DeepSpeed on CPU: gloo process group, rank 1 of 2" in log
    from omegaconf import OmegaConf

    recorded = OmegaConf.load(run_dir / ".hydra" / "rank0" / "config.yaml")
    assert recorded.launch.deepspeed.zero_optimization.stage == int(stage[-1])
