"""Answer extractors: completions and gold fields read with one table (rlpost/text/answers.py)."""

import pytest

from rlpost.errors import ConfigError
from rlpost.text.answers import extract_answer


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        (r"thus \boxed{\frac{3}{4}}", "auto", r"\frac{3}{4}"),
        (r"\boxed{x^{2}} and later \boxed{5}", "boxed", "5"),
        ("work\n#### 1,234", "auto", "1234"),
        ("12 + 30 = 42. The answer is 42.", "auto", "42"),
        ("The answer is: -7", "auto", "-7"),
        ("3.5 apples", "last_number", "3.5"),
        ("no number here", "auto", None),
        ("unfinished \\boxed{12", "boxed", None),
    ],
)
def test_extract_answer(text, fmt, expected):
    assert extract_answer(text, fmt) == expected


def test_extract_answer_rejects_unknown_format():
    with pytest.raises(ConfigError, match="answer_format=.nope.: choose one of"):
        extract_answer("1", "nope")


def test_gold_field_formats():
    assert extract_answer("a\n#### 72", "hashes") == "72"
    assert extract_answer(r"so \boxed{7}", "boxed") == "7"
    assert extract_answer(" 12 apples ", "none") == "12 apples"
    with pytest.raises(ConfigError, match="data.answer_parser='weird'"):
        extract_answer("1", "weird", key="data.answer_parser")
