"""bench/experiments/divpo.py end to end on the tiny random model: every arm runs; the report compares with DPO."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.integration
def test_bench_divpo_smoke(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "res" / "divpo"
    cmd = [sys.executable, "-m", "bench.experiments.divpo", "--model", "tiny_random", "--n", "4", "--repeats", "2",
           "--eval-k", "4", "--max-new-tokens", "8", "--rounds", "1", "--max-steps", "1", "--no-embedding-spread",
           "--override", "reward=length", "trainer.bf16=false", "--arms", "dpo", "divpo_attribute",
           "--work-dir", str(tmp_path / "work"), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "result.json").read_text())
    assert set(report["arms"]) == {"base", "dpo", "divpo_attribute"}
    assert report["arms"]["dpo"]["pairs_kept"] == [2]
    assert "distinct_per_sample/mean_attribute" in report["arms"]["dpo"]["after"]
    assert set(report["target"]) == {"divpo_attribute"}
    assert "divpo_attribute" in (out / "result.md").read_text()
