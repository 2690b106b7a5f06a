"""bench/experiments/tallrec.py end to end with a tiny budget on the tiny random model and synthetic fixture data."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.integration


def test_bench_writes_json_markdown_and_png(tmp_path):
    for task in ("movie", "book"):
        folder = tmp_path / "data" / "tallrec" / task
        folder.mkdir(parents=True)
        for split in ("train", "valid", "test"):
            shutil.copy(ROOT / "tests" / "assets" / "tallrec" / f"{split}.json", folder / f"{split}.json")
    bench = runpy.run_path(str(ROOT / "bench" / "experiments" / "tallrec.py"))
    out = tmp_path / "results"
    code = bench["main"](["--model", "tiny_random", "--tasks", "movie", "book", "--sft-tasks", "movie",
                          "--sizes", "4", "--seeds", "0", "1",
                          "--max-steps", "1", "--valid-limit", "4", "--test-limit", "8", "--icl-k", "2",
                          "--probe-ks", "0", "2", "--probe-queries", "6", "--claims-queries", "10",
                          "--multi-token", "first",
                          "--data-root", str(tmp_path / "data"), "--out", str(out), "--work-dir", str(tmp_path / "w")])
    assert code == 0
    results = json.loads((out / "result.json").read_text())
    movie_res = results["tasks"]["movie"]
    assert set(movie_res["baselines"]) == {"zero_shot", "icl_k2"}
    sft = movie_res["sft"]["4"]
    assert sft["seeds"] == 2 and 0 <= sft["auc_mean"] <= 1 and sft["train_time_s_mean"] > 0
    assert {r["task"] for r in results["probes"]["before SFT"]} == {"movie", "arith_claims"}
    assert len(results["probes"]) == 2
    assert {r["n"] for r in results["probes"]["before SFT"] if r["task"] == "arith_claims"} == {10.0}
    # book is scored zero-shot / in-context / by the like-ratio only (--sft-tasks movie)
    book = results["tasks"]["book"]
    assert set(book["baselines"]) == {"zero_shot", "icl_k2"} and book["runs"] == []
    assert 0 <= book["heuristic"]["auc"] <= 1
    assert "LoRA SFT n=4" in (out / "result.md").read_text()
    assert (out / "tallrec_icl_probes.png").stat().st_size > 1000
    assert (out / "tallrec_auc_vs_n.png").stat().st_size > 1000
    md = (out / "result.md").read_text()
    assert md.count("| movie | 4 |") == 2  # one row per seed
    assert "± " in md.split("ICL probes")[-1]
