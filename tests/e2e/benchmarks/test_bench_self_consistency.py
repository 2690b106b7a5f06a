"""bench/experiments/self_consistency.py runs end to end on the tiny model and writes its json, markdown and plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.integration
def test_bench_smoke(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "bench.experiments.self_consistency", "--model", "tiny_random", "--smoke",
                    "--steps", "1", "--eval-size", "4", "--eval-k", "2", "--arms", "gold", "sc03_guarded",
                    "--out", str(tmp_path), "--work-dir", str(tmp_path / "runs")], check=True, timeout=600, cwd=ROOT)
    report = json.loads((tmp_path / "result.json").read_text())
    assert [r["arm"] for r in report["rows"]] == ["base", "gold", "sc03_guarded"]
    assert report["rows"][2]["kept_step"] in (0, 1)
    assert (tmp_path / "self_consistency.png").stat().st_size > 0
    assert "| base model |" in (tmp_path / "result.md").read_text()
    assert set(report["targets"]) == {"gold", "sc03_guarded"}
