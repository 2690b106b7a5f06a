"""Answer extractors: completions and gold fields read with one table (rlpost/text/answers.py)."""

import pytest

from rlpost.text.answers import extract_answer, parse_gold


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
    with pytest.raises(ValueError, match="answer_format"):
        extract_answer("1", "nope")


def test_parse_gold_formats():
    assert parse_gold("a\n#### 72", "after_hashes") == "72"
    assert parse_gold(r"so \boxed{7}", "boxed") == "7"
    with pytest.raises(ValueError, match="answer_parser"):
        parse_gold("1", "weird")
