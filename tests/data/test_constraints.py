"""Constraint prompts: generator, IFEval/VerInstruct file loader, and the evaluation-overlap guard."""

from __future__ import annotations

import json

import pytest

from rlpost.data.sources.constraints import (
    TOPICS,
    check_no_overlap,
    generate_constraint_prompts,
    load_constraint_file,
    split_topics,
)
from rlpost.errors import DataError
from rlpost.text.instruction_checks import validate_constraints

CODE = "def check_following(instruction, response):\n    return len(response) < 50\n"


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_generator_is_seeded_valid_and_conflict_free():
    from rlpost.data.sources.constraints import _conflicts

    a = generate_constraint_prompts(40, seed=7, max_constraints=3)
    b = generate_constraint_prompts(40, seed=7, max_constraints=3)
    assert a.to_list() == b.to_list()
    assert a.to_list() != generate_constraint_prompts(40, seed=8, max_constraints=3).to_list()
    conflicts = _conflicts()
    for row in a:
        ids = row["instruction_id_list"]
        assert 1 <= len(ids) <= 3 and row["answer"] is None
        validate_constraints(ids, row["kwargs"], row["prompt_id"], row["question"])  # kwargs fit the checkers
        assert not any(y in conflicts[x] for i, x in enumerate(ids) for y in ids[i + 1:]), ids


def test_generator_restricts_types_and_keeps_the_global_rng():
    import random

    random.seed(5)
    expected = random.random()
    random.seed(5)
    ds = generate_constraint_prompts(10, seed=0, types=["punctuation:no_comma"])
    assert random.random() == expected
    assert {tuple(r["instruction_id_list"]) for r in ds} == {("punctuation:no_comma",)}
    with pytest.raises(DataError, match=r"data.source.types: unknown instruction id\(s\) \['nope'\]"):
        generate_constraint_prompts(2, types=["nope"])


def test_train_and_validation_topics_are_disjoint():
    train, val = set(split_topics("train")), set(split_topics("validation"))
    assert train.isdisjoint(val) and train | val == set(TOPICS)
    rows = generate_constraint_prompts(30, seed=1, split="validation")
    assert all(any(t in r["question"] for t in val) for r in rows)


def test_ifeval_format_file_loads_and_bad_rows_are_named(tmp_path):
    good = {"key": 7, "prompt": "Write a haiku.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    ds = load_constraint_file(str(_write(tmp_path / "ok.jsonl", [good])), prompt_id_field="key")
    assert ds[0]["prompt_id"] == "7" and ds[0]["instruction_id_list"] == ["punctuation:no_comma"]
    assert json.loads(ds[0]["kwargs"]) == [{}]
    bad = dict(good, instruction_id_list=["punctuation:no_comma", "nope:x"], kwargs=[{}, {}])
    path = _write(tmp_path / "bad.jsonl", [good, bad])
    with pytest.raises(DataError, match=r"bad.jsonl: row 2: constraint 1 \(nope:x\): unknown instruction id"):
        load_constraint_file(str(path))
    empty = _write(tmp_path / "empty.jsonl", [good, {"prompt": "Write.", "instruction_id_list": [], "kwargs": []}])
    with pytest.raises(DataError, match=r"empty.jsonl: row 2: no constraints"):
        load_constraint_file(str(empty))


def test_verinstruct_rows_load_hard_code_and_soft_constraints(tmp_path):
    row = {"messages": [{"role": "user", "content": "Write a short, formal note."}],
           "labels": json.dumps({"checkers": ["[rule] under 50 characters", "[llm] formal tone"],
                                 "functions": [CODE, None]})}
    ds = load_constraint_file(str(_write(tmp_path / "v.jsonl", [row])))
    assert ds[0]["question"] == "Write a short, formal note."
    assert ds[0]["checker_code"] == [CODE] and ds[0]["soft_constraints"] == ["formal tone"]
    assert ds[0]["instruction_id_list"] == []


def test_checker_code_that_does_not_parse_is_named(tmp_path):
    rows = [{"prompt": "Write.", "checkers": ["[rule] short"], "functions": [CODE]},
            {"prompt": "Write more.", "checkers": ["[rule] short", "[rule] broken"],
             "functions": [CODE, "def check_following(instruction, response:\n    return True\n"]}]
    with pytest.raises(DataError) as err:
        load_constraint_file(str(_write(tmp_path / "v.jsonl", rows)))
    message = str(err.value)
    assert "v.jsonl: row 2: constraint 1 ([rule] broken): checker code does not parse (line 1" in message
    assert "\n" not in message


def test_training_prompts_that_appear_in_the_evaluation_file_are_refused(tmp_path):
    held_out = _write(tmp_path / "eval.jsonl", [{"prompt": "Write a poem about  the sea.\nNo commas."}])
    train = _write(tmp_path / "train.jsonl", [
        {"prompt": "Write a poem about rivers.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {"prompt": "write a poem about the sea. no commas.", "instruction_id_list": ["punctuation:no_comma"],
         "kwargs": [{}]}])
    with pytest.raises(DataError, match=r"train.jsonl: row 2 is a prompt of the evaluation file .*eval.jsonl"):
        load_constraint_file(str(train), forbid_overlap_with=str(held_out))
    check_no_overlap(["Write a poem about rivers."], str(held_out), "x")  # no overlap: passes
    check_no_overlap(["anything"], str(tmp_path / "missing.jsonl"), "x")  # no evaluation file: nothing to guard
    generate_constraint_prompts(5, forbid_overlap_with=str(held_out))


def test_generated_rows_keep_the_request_without_its_constraints_as_task() -> None:
    from rlpost.data.sources.constraints import generate_constraint_prompts

    for row in generate_constraint_prompts(size=5, seed=3):
        assert row["task"] and row["question"].startswith(row["task"]) and row["question"] != row["task"]
