"""Self-consistency votes see the whole group when TRL splits it across two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


@pytest.mark.distributed
def test_gather_votes_two_ranks_agree(tmp_path: Path) -> None:
    env = {**os.environ, "RLPOST_TEST_OUT": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(HERE / "_gather_votes_worker.py")], check=True, timeout=180, env=env)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["rewards"] == [1.0, 1.0, 1.0]
    assert ranks[1]["rewards"] == [1.0, 0.0, 1.0, 0.0]
    assert ranks[0]["metrics"] == ranks[1]["metrics"]
