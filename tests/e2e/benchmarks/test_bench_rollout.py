"""bench/speed/rollout.py end to end on the tiny model with a tiny budget; refusing to compare different settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.speed import rollout

pytestmark = pytest.mark.integration


def test_bench_rollout_tiny_writes_ratios_and_roofline(tmp_path: Path) -> None:
    argv = ["--model", "tiny_random", "--batches", "8", "--dtypes", "fp32", "bf16", "--n", "4",
            "--max-new-tokens", "6", "--out", str(tmp_path)]
    data = rollout.main(argv)
    assert json.loads((tmp_path / "result.json").read_text())["results"] == data["results"]
    assert [(r["dtype"], r["batch"]) for r in data["results"]] == [("fp32", 8), ("bf16", 8)]
    for r in data["results"]:
        assert r["prompts"] == 2 and r["ratio_useful_tok_s"] > 0
        assert r["baseline"]["slot_tokens"] == 8 * 6 >= r["baseline"]["useful_tokens"] > 0
        assert 0 < r["engine"]["useful_tokens"] <= 8 * 6 and r["engine"]["peak_rss_mib"] > 0
    roof = data["roofline"]
    assert roof["flops_per_token"] == 2 * roof["params"] and roof["peak_matmul_gflops"]["fp32"] > 0
    assert "useful ratio" in (tmp_path / "result.md").read_text()
    # the same settings compare; a different max_new_tokens is refused with the differing key named
    assert rollout.compare(tmp_path / "result.json", data)
    other = {**data, "settings": {**data["settings"], "max_new_tokens": 64, "threads": 99}}
    with pytest.raises(SystemExit, match="max_new_tokens: 6 vs 64.*threads"):
        rollout.compare(tmp_path / "result.json", other)
