"""GRPO with 2 processes whose ranks skip different numbers of rows: every rank keeps the same count (padded with
rows that add nothing to the loss), so TRL's per-row gathers match and the run trains."""

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
def test_ranks_skipping_different_row_counts_train(tmp_path: Path, tiny_model_dir: Path) -> None:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_DEEPSPEED"):
        env.pop(key, None)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(HERE / "_uneven_rows_worker.py"), str(tiny_model_dir), str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["moved"] > 0 for r in ranks), ranks  # rank 1's rows trained the (shared) weights
    # rank 1 keeps 2 rows of 4; rank 0 keeps none, padded to rank 1's 2: both skip half of their rows
    assert [r["skipped"] for r in ranks] == [[0.5, 0.5], [0.5, 0.5]], ranks
