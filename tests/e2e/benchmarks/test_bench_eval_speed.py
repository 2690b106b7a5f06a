"""bench/speed/eval_speed.py end to end on the tiny model, tiny settings: both arms, a ratio, equal greedy accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.speed import eval_speed

pytestmark = pytest.mark.integration


def test_bench_eval_speed_tiny_writes_both_arms(tmp_path: Path) -> None:
    argv = ["--model", "tiny_random", "--questions", "6", "--k", "2", "--max-new-tokens", "6", "--out", str(tmp_path)]
    data = eval_speed.main(argv)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert set(saved["arms"]) == {"plain", "rlpost"}
    for arm in saved["arms"].values():
        assert arm["questions_per_s"] > 0 and arm["peak_rss_mib"] >= arm["rss_start_mib"] > 0
        assert arm["metrics"]["n_questions"] == 6 and "maj@2" in arm["metrics"]
    assert saved["ratio_questions_per_s"] > 0
    agree = saved["agreement"]
    assert agree["greedy_accuracy_equal"] and agree["greedy_accuracy"]["plain"] == agree["greedy_accuracy"]["rlpost"]
    # greedy decoding is deterministic: both arms produce the same greedy texts
    assert agree["greedy_text_mismatches"] == 0
    assert {"pass@1", "maj@2", "pass@2"} <= set(agree)
    s = saved["settings"]
    assert (s["model"], s["questions"], s["k"], s["max_new_tokens"], s["data_seed"]) == ("tiny_random", 6, 2, 6, 1234)
    assert "questions/s" in (tmp_path / "result.md").read_text()
    assert eval_speed.compare(tmp_path / "result.json", data)  # same settings compare
