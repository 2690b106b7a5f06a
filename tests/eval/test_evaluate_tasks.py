"""rlpost-eval in process (rlpost.evaluate.run) with each task kind it serves, on the tiny model and tiny assets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import pipeline_cfg

pytestmark = pytest.mark.integration
TALLREC = Path(__file__).resolve().parents[1] / "assets" / "tallrec"


def test_math_qa(tmp_path, tiny_model_dir):
    from rlpost.evaluate import eval_kind, run

    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(3)))
    cfg = pipeline_cfg("evaluate", [f"model.path={tiny_model_dir}", "data=file", f"data.path={data}", "eval.k=2",
                                    "eval.sampling.max_new_tokens=4"], tmp_path)
    metrics = run(cfg)
    assert eval_kind(cfg.eval) == "math_qa" and metrics["n_questions"] == 3 and "maj@2" in metrics
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics


def test_yes_no_on_a_tallrec_split(tmp_path, tiny_model_dir):
    from rlpost.eval.results import format_section
    from rlpost.evaluate import eval_kind, run

    cfg = pipeline_cfg("evaluate", [f"model.path={tiny_model_dir}", "data=tallrec_movie", "eval=yes_no",
                                    *[f"data.splits.{s}_path={TALLREC / f'{s}.json'}" for s in ("train", "valid",
                                                                                                 "test")],
                                    "data.splits.num_train=4", "eval.scorer.multi_token=first"], tmp_path)
    metrics = run(cfg)
    test_rows = json.loads((TALLREC / "test.json").read_text())
    assert eval_kind(cfg.eval) == "yes_no" and metrics["n"] == len(test_rows)
    assert 0.0 <= metrics["auc"] <= 1.0 and metrics["log_loss"] > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["auc"] == metrics["auc"]
    assert format_section("yes_no", "eval", metrics).startswith(f"eval: AUC {metrics['auc']:.4f}")
