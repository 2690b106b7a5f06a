"""bench/speed/scale.py: pure helpers always; a 2-setting run on the tiny model under ``slow``."""

from __future__ import annotations

import importlib.util
import json
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "speed" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_global_batch_for_every_setting() -> None:
    bench = _bench()
    args = Namespace(model="tiny_random", steps=2, global_batch=8, num_generations=4, max_new_tokens=8)
    one, two = bench.overrides(args, 1, "single"), bench.overrides(args, 2, "zero2")
    assert "trainer.per_device_train_batch_size=8" in one and "trainer.per_device_train_batch_size=4" in two
    assert "launch=zero2" in two


@pytest.mark.integration
@pytest.mark.slow
def test_bench_measures_one_and_two_processes(tmp_path: Path) -> None:
    report = _bench().main(["--steps", "2", "--settings", "1 process", "2 x DDP", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "result.json").read_text()) == report
    one, ddp = report["results"]
    assert one["processes"] == 1 and len(ddp["peak_rss_mib_per_process"]) == 2
    assert one["steps"] == ddp["steps"] == 2 and one["s_per_step_mean"] > 0
    assert min(ddp["peak_rss_mib_per_process"]) > 0
    assert "| 2 x DDP |" in (tmp_path / "result.md").read_text()
