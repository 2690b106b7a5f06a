"""DivPO under torchrun with 2 CPU processes (gloo): rank 0 generates/scores/selects, both ranks train DPO."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.distributed
@pytest.mark.integration
def test_divpo_two_ranks_two_rounds(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "rlpost.train",
           "--config-name", "divpo", "model=tiny_random", "logger=none", "algo.n=4",
           "data.source.repeats=4", "sampling.max_new_tokens=8", "eval.sampling.max_new_tokens=8", "eval.k=4",
           "eval.embedding_spread=false",
           "eval.before=false", "trainer.bf16=false", "trainer.per_device_train_batch_size=1", "reward=length",
           "algo.rounds=2", "trainer.learning_rate=0.01"]
    # RLPOST_RUN_DIR (not a run_dir= override): one run dir shared by both ranks, nothing under outputs/
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RLPOST_DEBUG": "1", "RLPOST_RUN_DIR": str(run_dir)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [r["round"] for r in metrics["divpo"]["rounds"]] == [0, 1]
    # 2 ranks x batch 1: each DPO step consumes 2 pairs
    assert all(r["train"]["steps"] == -(-r["pairs_kept"] // 2) for r in metrics["divpo"]["rounds"])
    assert (run_dir / "round_1" / "policy" / "model.safetensors").is_file()
    assert "unique/answer" in metrics["after"]
