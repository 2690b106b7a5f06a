"""IFEval metrics: the paper's four accuracies, standard errors, per-type rates; the evaluation loop."""

from __future__ import annotations

import json
import math

import pytest

from rlpost.data.templates import ChatTemplate
from rlpost.eval.tasks.ifeval import aggregate, clustered_stderr, evaluate_instruction_following, score_record


def _rec(strict, loose, ids=None):
    ids = ids or [f"t:{i}" for i in range(len(strict))]
    return {"instruction_id_list": ids, "strict": strict, "loose": loose, "prompt_strict": all(strict),
            "prompt_loose": all(loose), "errors": []}


def test_aggregate_prompt_and_instruction_levels():
    records = [_rec([True, True], [True, True]), _rec([True, False], [True, True]), _rec([False], [False], ["t:0"])]
    m = aggregate(records)
    assert m["prompt_strict"] == pytest.approx(1 / 3) and m["prompt_loose"] == pytest.approx(2 / 3)
    assert m["instruction_strict"] == pytest.approx(3 / 5) and m["instruction_loose"] == pytest.approx(4 / 5)
    assert m["prompt_strict_se"] == pytest.approx(math.sqrt((1 / 3) * (2 / 3) / 3))
    assert m["instruction_strict_se"] == pytest.approx(clustered_stderr([2, 1, 0], [2, 2, 1]))
    assert m["strict/t:0"] == pytest.approx(2 / 3) and m["strict/t:1"] == 0.5 and m["n/t:0"] == 3
    assert m["n_prompts"] == 3 and m["n_instructions"] == 5 and m["accuracy"] == m["prompt_strict"]


def test_clustered_stderr_equals_binomial_for_single_item_clusters():
    hits = [1, 0, 1, 1]
    p = 0.75
    assert clustered_stderr(hits, [1] * 4) == pytest.approx(math.sqrt(4 / 3 * 4 * p * (1 - p)) / 4)


def test_score_record_marks_a_prompt_followed_only_if_every_instruction_is():
    rec = score_record("hello, world", ["punctuation:no_comma", "change_case:english_lowercase"], "[{}, {}]", "p")
    assert rec["strict"] == [False, True] and rec["prompt_strict"] is False


class _Engine:
    def __init__(self, reply):
        self.reply = reply

    def generate(self, prompts, params, samples=None):
        from types import SimpleNamespace

        assert params.greedy
        return [SimpleNamespace(completions=[self.reply], lengths=[3]) for _ in prompts]


def test_evaluation_loop_writes_metrics_and_samples(tmp_path):
    from datasets import Dataset

    rows = [{"prompt_id": "a", "question": "Q1", "answer": None, "instruction_id_list": ["punctuation:no_comma"],
             "kwargs": "[{}]"},
            {"prompt_id": "b", "question": "Q2", "answer": None,
             "instruction_id_list": ["punctuation:no_comma", "detectable_format:title"], "kwargs": "[{}, {}]"}]
    m = evaluate_instruction_following(_Engine("no commas at all"), Dataset.from_list(rows), ChatTemplate(), 16,
                                       tmp_path)
    assert m["prompt_strict"] == 0.5 and m["instruction_strict"] == pytest.approx(2 / 3)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["strict/detectable_format:title"] == 0.0
    samples = [json.loads(x) for x in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [s["prompt_id"] for s in samples] == ["a", "b"] and samples[1]["strict"] == [True, False]
