"""Dynamic sampling with 2 CPU processes (gloo): every process takes the same number of rounds (a disagreement
would hang a collective), each step's batch is full, and the prompts consumed add up across rounds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.distributed.test_grpo_distributed import ROOT, _check_run, _env

OVERRIDES = ["logger=none", "eval=none", "+debug=cpu_smoke", "trainer.learning_rate=1e-3",
             "+reward.funcs.half._target_=rlpost.testing.HalfUniformReward", "+reward.weights.half=1.0",
             "reward.weights.accuracy=0", "algo.dynamic_sampling=true", "algo.max_generation_rounds=6"]


@pytest.mark.distributed
def test_dynamic_sampling_two_processes(tmp_path: Path, tiny_model_dir: Path) -> None:
    run_dir = tmp_path / "run"
    cmd = [str(ROOT / "launch" / "torchrun.sh"), "2", "grpo", "model=tiny_random", f"model.path={tiny_model_dir}",
           *OVERRIDES]
    out = subprocess.run(cmd, env=_env(run_dir), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    _check_run(run_dir, tiny_model_dir, out)
    steps = [h for h in json.loads((run_dir / "log_history.json").read_text()) if "dynamic_sampling/rounds" in h]
    assert len(steps) == 2
    consumed = 0
    for h in steps:
        # 2 processes x 4 completions / 2 per group = 4 groups per step, drawn 4 prompts per round
        assert h["dynamic_sampling/groups_kept"] + h["dynamic_sampling/filler_groups"] == 4
        assert h["dynamic_sampling/groups_drawn"] == 4 * h["dynamic_sampling/rounds"]
        consumed += 4 * h["dynamic_sampling/rounds"]
        assert h["dynamic_sampling/prompts_consumed"] == consumed
    assert sum(h["dynamic_sampling/groups_uniform"] for h in steps) > 0, "the reward made no group uniform"
    assert all(h["dynamic_sampling/filler_groups"] == 0 for h in steps)
