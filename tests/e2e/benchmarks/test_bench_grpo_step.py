"""bench/speed/grpo_step.py: both engines train with identical overrides; a tiny end-to-end run writes the ratio."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest
from bench.speed import grpo_step

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("compare", "key"), [("engine", "rollout.engine"), ("skip", "algo.skip_zero_advantage")])
def test_only_the_compared_key_differs(compare, key) -> None:
    args = Namespace(model="tiny_random", bf16="false", steps=2, batch=4, num_generations=2, max_new_tokens=4, seed=0,
                     extra=["model.path=X"])
    (_, a), (_, b) = grpo_step.VARIANTS[compare]
    first, second = grpo_step.overrides(args, a), grpo_step.overrides(args, b)
    assert [x.split("=")[0] for x in first if x not in second] == [key]
    assert [x.split("=")[0] for x in second if x not in first] == [key]
    assert "model.path=X" in first


def test_bench_grpo_step_tiny(tmp_path: Path) -> None:
    data = grpo_step.main(["--steps", "2", "--batch", "4", "--num-generations", "2", "--max-new-tokens", "4",
                           "--bf16", "false", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "result.json").read_text())["ratio_step_time"] == data["ratio_step_time"] > 0
    assert [r["engine"] for r in data["results"]] == ["trl", "rlpost"]
    assert all(r["steps"] == 2 and r["peak_rss_mib"] > 0 for r in data["results"])
