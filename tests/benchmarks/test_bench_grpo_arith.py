"""bench/experiments/grpo_arith.py: reusing an earlier base-model evaluation only when its settings match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from bench.experiments import grpo_arith


def _eval_dir(tmp_path: Path, overrides: list[str], accuracy: float) -> Path:
    run = tmp_path / "eval_before_plain"
    (run / ".hydra" / "rank0").mkdir(parents=True)
    (run / ".hydra" / "rank0" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run / "metrics.json").write_text(json.dumps({"accuracy": accuracy}))
    return run


def test_reuses_an_evaluation_with_the_same_overrides(tmp_path: Path) -> None:
    args = ["model=smollm2_135m", "data.eval_source.size=200", "data.eval_source.seed=1234",
            "data.eval_source.style=plain", "eval.k=4"]
    run = _eval_dir(tmp_path, args, 0.435)
    out = grpo_arith.evaluate(["model=smollm2_135m"], tmp_path / "unused", 200, 4, "plain", 1234, reuse=run)
    assert out["metrics"] == {"accuracy": 0.435}
    assert not (tmp_path / "unused").exists()


def test_refuses_an_evaluation_with_other_settings(tmp_path: Path) -> None:
    run = _eval_dir(tmp_path, ["model=smollm2_135m", "data.eval_source.size=100", "data.eval_source.seed=1234",
                               "data.eval_source.style=plain", "eval.k=4"], 0.5)
    with pytest.raises(SystemExit, match=r"overrides\.yaml ran with .*size=100"):
        grpo_arith.evaluate(["model=smollm2_135m"], tmp_path / "x", 200, 4, "plain", 1234, reuse=run)


def test_refuses_a_directory_that_is_not_an_evaluation(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not an rlpost-eval run directory"):
        grpo_arith.evaluate(["model=smollm2_135m"], tmp_path / "x", 200, 4, "plain", 1234, reuse=tmp_path)


def test_validation_and_test_splits_draw_different_problems() -> None:
    """Settings are chosen on the validation split; the test split is reported once."""
    from rlpost.data.sources.arith import generate_arithmetic

    valid, test = grpo_arith.SPLIT_SEEDS["valid"], grpo_arith.SPLIT_SEEDS["test"]
    assert test == (1234, 999)  # the seeds of every committed result
    assert set(valid).isdisjoint(test) and not set(valid) & {0, 1}  # nor a training seed of the runs
    qv = generate_arithmetic(200, seed=valid[0])["question"]
    qt = generate_arithmetic(200, seed=test[0])["question"]
    assert qv != qt
