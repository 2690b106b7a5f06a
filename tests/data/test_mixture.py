"""Mixed prompt sources (rlpost.data.sources.mixture) and the reward routing they rely on."""

from __future__ import annotations

import pytest

from rlpost.data.sources.arith import generate_arithmetic
from rlpost.data.sources.constraints import generate_constraint_prompts
from rlpost.data.sources.mixture import mix_sources
from rlpost.errors import DataError
from rlpost.rewards.accuracy import AccuracyReward
from rlpost.rewards.instruction_following.reward import InstructionFollowingReward

SUFFIX = "{question} Give the final answer as a number."


def _mixed(seed=0):
    return mix_sources({"if": generate_constraint_prompts(30, seed=1), "arith": generate_arithmetic(10, ops=["sub"])},
                       question_formats={"arith": SUFFIX}, seed=seed)


def test_mix_keeps_every_row_formats_its_source_and_shuffles_by_seed():
    ds = _mixed()
    rows = ds.to_list()
    assert len(rows) == 40 and sorted({r["source"] for r in rows}) == ["arith", "if"]
    arith = [r for r in rows if r["source"] == "arith"]
    assert len(arith) == 10 and all(r["question"].endswith("? Give the final answer as a number.") for r in arith)
    assert all(r["instruction_id_list"] is None and r["answer"] is not None for r in arith)
    constraints = [r for r in rows if r["source"] == "if"]
    assert all(r["answer"] is None and r["instruction_id_list"] for r in constraints)
    assert rows == _mixed().to_list()
    assert [r["prompt_id"] for r in rows] != [r["prompt_id"] for r in _mixed(seed=1).to_list()]
    assert [r["source"] for r in rows[:30]] != ["if"] * 30  # interleaved, not concatenated


def test_each_mixed_row_is_scored_by_exactly_one_reward():
    rows = _mixed().to_list()
    columns = {key: [r[key] for r in rows] for key in rows[0]}
    completions = [r["answer"] or "Sure." for r in rows]  # the right number on arithmetic rows
    accuracy = AccuracyReward()(None, completions, **columns)
    following = InstructionFollowingReward()(None, completions, **columns)
    for row, a, f in zip(rows, accuracy, following, strict=True):
        assert (a is None) != (f is None), row["prompt_id"]
        assert (a == 1.0) if row["source"] == "arith" else (f is not None)


def test_mix_errors_name_the_config_key():
    with pytest.raises(DataError, match="data.source.sources: no sources"):
        mix_sources({})
    with pytest.raises(DataError, match=r"data.source.question_formats: \['b'\] not among"):
        mix_sources({"a": generate_arithmetic(2)}, question_formats={"b": SUFFIX})
    with pytest.raises(DataError, match=r"data.source.question_formats.a: .* has no \{question\}"):
        mix_sources({"a": generate_arithmetic(2)}, question_formats={"a": "no slot"})
    with pytest.raises(DataError, match="data.source.sources.a: rows have no 'question' column"):
        mix_sources({"a": [{"prompt": "x"}]})
