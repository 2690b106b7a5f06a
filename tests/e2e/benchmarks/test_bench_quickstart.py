"""bench/speed/quickstart.py: one rlpost-train run, timed; the JSON holds what the README's quickstart states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.speed import quickstart

pytestmark = pytest.mark.integration


def test_quickstart_json_records_times_accuracy_and_cpu(tmp_path: Path) -> None:
    data = quickstart.main(["--out", str(tmp_path / "out"), "--work-dir", str(tmp_path / "run"),
                            "model=tiny_random", "+debug=cpu_smoke", "logger=none"])
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved == data
    r, s = data["result"], data["settings"]
    assert r["steps"] == 2 and len(r["step_times_s"]) == 2 and 0 < r["train_runtime_s"] < r["wall_s"]
    assert {"accuracy", "accuracy/add", "accuracy/mul"} <= set(r["before"]) & set(r["after"])
    assert r["precision"].startswith("precision (CPU ") and "trainer.bf16=false -> float32" in r["precision"]
    assert {"cpu_capability", "cpu_native_bf16", "cpu_auto_dtype", "torch", "threads"} <= set(s)
    assert "| accuracy |" in (tmp_path / "out" / "result.md").read_text()
