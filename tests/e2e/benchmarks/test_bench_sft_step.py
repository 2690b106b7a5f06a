"""bench/speed/sft_step.py: a tiny end-to-end run of both arms writes the ratio and equal losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.speed import sft_step

pytestmark = pytest.mark.integration


def test_bench_sft_step_tiny(tmp_path: Path) -> None:
    data = sft_step.main(["--model", "tiny_random", "--steps", "1", "--warmup", "1", "--batch", "2",
                          "--out", str(tmp_path)])
    assert json.loads((tmp_path / "result.json").read_text())["ratio"] == data["ratio"] > 0
    trl, rlpost = data["arms"]["trl"], data["arms"]["rlpost"]
    assert len(trl["losses"]) == len(rlpost["losses"]) == 2 and len(trl["step_s"]) == 1
    assert data["max_loss_diff"] < 1e-5  # the compact head changes the cost, not the loss
    assert "rlpost / trl step time" in (tmp_path / "result.md").read_text()
