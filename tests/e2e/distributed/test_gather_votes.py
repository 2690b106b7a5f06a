"""Self-consistency votes see the whole group when TRL splits it across two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[2] / "src"


@pytest.mark.distributed
def test_gather_votes_two_ranks_agree(tmp_path: Path) -> None:
    """Rank 0 votes once over the gathered groups; groups are positions, so a repeated question is two groups."""
    env = {**os.environ, "RLPOST_TEST_OUT": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(HERE / "_gather_votes_worker.py")], check=True, timeout=180, env=env)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # g0 = 4,4,5,4 -> [1,1,0,1]; g1 = 1/2,0.5,\frac{1}{2},7 -> [1,1,1,0]; g2 (g0's question again) = 5,5,5,4
    assert ranks[0]["rewards"] == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert ranks[1]["rewards"] == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]  # rank 1's broken verifier did not vote
    assert ranks[0]["metrics"] == ranks[1]["metrics"]
    m = ranks[0]["metrics"]
    assert m["self_consistency/label_accuracy"] == 2 / 3  # g2's label 5 is wrong
    assert m["self_consistency/majority_share"] == 3 / 4
    assert m["self_consistency/cross_rank_groups"] == 1 / 3


@pytest.mark.distributed
@pytest.mark.integration
def test_grpo_self_consistency_under_torchrun(tmp_path: Path, tiny_model_dir: Path) -> None:
    """2 gloo processes, real TRL GRPOTrainer: voting runs on gathered groups and the metrics are logged.

    The model directory is built beforehand: two ranks building the tiny model into an empty cache at once race.
    """
    env = {**os.environ, "RLPOST_RUN_DIR": str(tmp_path), "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    overrides = ["model=tiny_random", f"model.path={tiny_model_dir}", "reward=self_consistency", "+debug=cpu_smoke",
                 "logger=none", "eval=none", "trainer.save_strategy=steps", "trainer.save_steps=2",
                 # 2 completions per rank, groups of 4: each group is split across the two ranks
                 "trainer.per_device_train_batch_size=2", "algo.num_generations=4"]
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    "-m", "rlpost.train", *overrides], check=True, timeout=300, env=env, cwd=HERE.parents[2])
    history = json.loads((tmp_path / "checkpoints" / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    steps = [h for h in history if "self_consistency/cross_rank_groups" in h]
    assert len(steps) == 2, history
    # every group of 4 was split 2 + 2 over the ranks, yet no rank saw a partial group (that raises DataError)
    assert all(h["self_consistency/cross_rank_groups"] == 1.0 for h in steps)
