"""bench.speed.eval_speed refuses to compare runs whose recorded settings differ (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.speed import eval_speed

SETTINGS = {"model": "smollm2_135m", "model_dtype": "float32", "autocast_dtype": "bfloat16", "questions": 64,
            "data_seed": 1234, "k": 8, "temperature": 0.7, "top_p": 1.0, "max_new_tokens": 48, "batch_size": 64,
            "seed": 0, "prompt_tokens_mean": 47.0, "threads": 2, "python": "3.11", "torch": "2.13.0",
            "transformers": "5.23.0", "trl": "1.16.0", "date": "2026-11-22 10:00"}


def _run(settings: dict, plain: float, rlpost: float) -> dict:
    return {"settings": settings, "arms": {"plain": {"questions_per_s": plain}, "rlpost": {"questions_per_s": rlpost}}}


def test_compare_same_settings_reports_ratios(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_run(SETTINGS, 0.5, 1.0)))
    lines = eval_speed.compare(old, _run({**SETTINGS, "date": "later"}, 0.5, 1.5))  # the date is not compared
    assert lines == ["plain: questions/s 1.00x the earlier run", "rlpost: questions/s 1.50x the earlier run"]


@pytest.mark.parametrize(("key", "value"), [("questions", 32), ("k", 4), ("max_new_tokens", 64), ("threads", 16),
                                            ("autocast_dtype", None), ("torch", "2.14.0")])
def test_compare_refuses_different_settings(tmp_path: Path, key: str, value: object) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_run(SETTINGS, 0.5, 1.0)))
    with pytest.raises(SystemExit, match=f"bench.speed.eval_speed: refusing .*{key}: {SETTINGS[key]!r} vs {value!r}"):
        eval_speed.compare(old, _run({**SETTINGS, key: value}, 0.5, 1.0))
