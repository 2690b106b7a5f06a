"""Rule rewards for DivPO tasks."""

from __future__ import annotations

import pytest

from rlpost.rewards.rules import JsonRecordReward, KeywordCountReward, LengthBandReward, WordCountReward

KEYS = ["first_name", "city", "occupation"]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"first_name": "Ana", "city": "Lima", "occupation": "nurse"}', 1.0),
    ('```json\n{"city": "Lima", "occupation": "nurse", "first_name": "Ana"}\n```', 1.0),
    ('Here you go: {"first_name": "Ana", "city": "Lima", "occupation": "nurse"} Enjoy!', 1.0),
    ('{"first_name": "Ana", "city": "Lima"}', 0.0),
    ('{"first_name": "", "city": "Lima", "occupation": "nurse"}', 0.0),
    ('{"first_name": ["Ana"], "city": "Lima", "occupation": "nurse"}', 0.0),
    ("first_name: Ana", 0.0),
    ("", 0.0),
    ("[1, 2]", 0.0),
])
def test_json_record(text, expected) -> None:
    assert JsonRecordReward(KEYS)(None, [text]) == [expected]


def test_json_record_reads_chat_completions() -> None:
    chat = [{"role": "assistant", "content": '{"first_name": "A", "city": "B", "occupation": "C"}'}]
    assert JsonRecordReward(KEYS)(None, [chat]) == [1.0]


@pytest.mark.parametrize(("text", "expected"), [("Mango", 1.0), (" mango. ", 1.0), ("a mango", 0.0), ("", 0.0)])
def test_one_word(text, expected) -> None:
    assert WordCountReward(1)(None, [text]) == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("storm, lighthouse, keeper, fog, rescue", 1.0),
    ("1. storm\n2. lighthouse\n3. keeper\n4. fog\n5. rescue", 1.0),
    ("- storm\n- lighthouse\n- keeper\n- fog", 0.0),
    ("storm, lighthouse, keeper, fog, a very long rescue phrase", 0.0),
])
def test_keywords(text, expected) -> None:
    assert KeywordCountReward(count=5, max_words=3)(None, [text]) == [expected]


def test_length_band() -> None:
    assert LengthBandReward(2, 3)(None, ["a", "ab", "abcd"]) == [0.0, 1.0, 0.0]
