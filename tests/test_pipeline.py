"""The pipeline skeleton (rlpost.pipeline): one results schema, cached before-evaluation, one summary printer."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from rlpost.eval.results import format_summary
from rlpost.pipeline import Evaluator, Method, Run, Trained, run_pipeline


def _method(calls: list[str], cache_after: bool = False) -> Method:
    def evaluate(policy, out_dir: Path) -> dict[str, float]:
        calls.append(out_dir.name)
        return {"accuracy": 0.25 if policy is None else 0.75, "completion_tokens": 3.0, "n_questions": 4.0}

    def setup(run: Run) -> Evaluator:
        run.state["setup"] = True
        return Evaluator("math_qa", evaluate)

    def train(run: Run) -> Trained:
        assert run.state["setup"]
        return Trained("trained", {"steps": 2, "runtime_s": 1.5}, {"note": "x"})

    return Method("fake", setup, train, cache_after=cache_after)


def _cfg(run_dir: Path, **eval_cfg):
    return OmegaConf.create({"seed": 0, "run_dir": str(run_dir), "run_name": "t", "logger": {"report_to": "none"},
                             "eval": {"before": True, "after": True, **eval_cfg}})


def test_results_schema_and_metrics_file(tmp_path: Path) -> None:
    calls: list[str] = []
    results = run_pipeline(_cfg(tmp_path), _method(calls))
    assert calls == ["eval_before", "eval_after"]
    assert results["pipeline"] == "fake" and results["eval"] == "math_qa" and results["fake"] == {"note": "x"}
    assert results["before"]["accuracy"] == 0.25 and results["after"]["accuracy"] == 0.75
    assert results["train"]["steps"] == 2 and results["train"]["runtime_s"] == 1.5
    assert results["train"]["peak_memory_mb"] > 0
    assert json.loads((tmp_path / "metrics.json").read_text()) == results
    assert json.loads((tmp_path / "eval_before" / "metrics.json").read_text())["accuracy"] == 0.25


def test_a_resumed_run_reuses_the_before_evaluation(tmp_path: Path) -> None:
    first: list[str] = []
    run_pipeline(_cfg(tmp_path), _method(first))
    stamp = (tmp_path / "eval_before" / "metrics.json").stat().st_mtime_ns
    again: list[str] = []
    results = run_pipeline(_cfg(tmp_path), _method(again))
    assert again == ["eval_after"], "eval_before must be read from eval_before/metrics.json, not recomputed"
    assert (tmp_path / "eval_before" / "metrics.json").stat().st_mtime_ns == stamp
    assert results["before"]["accuracy"] == 0.25
    cached: list[str] = []
    run_pipeline(_cfg(tmp_path), _method(cached, cache_after=True))
    assert cached == []


def test_eval_switches_and_no_evaluator(tmp_path: Path) -> None:
    calls: list[str] = []
    results = run_pipeline(_cfg(tmp_path, before=False, after=False), _method(calls))
    assert calls == [] and "before" not in results and "after" not in results
    method = _method(calls)
    none = Method("fake", lambda run: run.state.update(setup=True), method.train)
    assert run_pipeline(_cfg(tmp_path / "b"), none)["eval"] == "none"


def test_summary_formats_each_section_with_its_task() -> None:
    text = format_summary({"pipeline": "grpo", "eval": "math_qa", "train": {"steps": 2, "runtime_s": 3.2},
                           "before": {"accuracy": 0.5, "accuracy/add": 1.0, "completion_tokens": 4.0,
                                      "n_questions": 2.0}})
    assert text.splitlines() == ["grpo: 2 steps in 3 s",
                                 "  before: accuracy 50.0% (add 100.0%) | 4 tokens/answer, n=2"]
    text = format_summary({"pipeline": "divpo", "eval": "diversity", "train": {"steps": 1, "runtime_s": None},
                           "after": {"unique/answer": 0.5}})
    assert text.splitlines()[1] == "  after: unique/answer 0.500"
