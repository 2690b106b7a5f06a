"""On a CUDA GPU: GRPO under DeepSpeed ZeRO-2 and ZeRO-3 (NCCL, one process) finishes and moves the weights.

Marked ``gpu`` (skipped without CUDA, tests/conftest.py); run on a GPU machine with bench/gpu_check.sh. The CPU
twins (gloo, two processes) are in tests/e2e/distributed/test_grpo_distributed.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.distributed.test_grpo_distributed import OVERRIDES, _env

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_grpo_deepspeed_on_one_gpu(tmp_path: Path, tiny_model_dir: Path, stage: str) -> None:
    import subprocess

    import torch
    from omegaconf import OmegaConf
    from safetensors.torch import load_file

    run_dir = tmp_path / "run"
    env = _env(run_dir)
    env.pop("DS_ACCELERATOR")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", "-m", "rlpost.train",
           "--config-name=grpo", "model=tiny_random", f"model.path={tiny_model_dir}", f"launch={stage}",
           "trainer.bf16=auto", *OVERRIDES]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "DeepSpeed on CPU" not in log
    recorded = OmegaConf.load(run_dir / ".hydra" / "rank0" / "config.yaml")
    assert recorded.launch.deepspeed.zero_optimization.stage == int(stage[-1])
    before = load_file(tiny_model_dir / "model.safetensors")
    after = load_file(run_dir / "final" / "model.safetensors")
    assert any(not torch.equal(before[n], after[n].to(before[n].dtype)) for n in before), "no weight moved"
