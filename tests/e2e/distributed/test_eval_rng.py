"""A validation during a 2-process run leaves each rank's RNG alone, so split groups keep distinct samples."""

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
def test_validation_mid_run_keeps_ranks_sampling_differently(tmp_path: Path, tiny_model_dir: Path) -> None:
    env = {**os.environ, "RLPOST_TEST_OUT": str(tmp_path), "RLPOST_TEST_MODEL": str(tiny_model_dir),
           "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(HERE / "_eval_rng_worker.py")], check=True, timeout=180, env=env)
    halves = json.loads((tmp_path / "result.json").read_text())["halves"]
    assert halves[0] != halves[1], "both ranks sampled the same completions for their halves of the group"
    assert [json.loads((tmp_path / f"rank{r}.json").read_text())["rng_kept"] for r in (0, 1)] == [True, True]
