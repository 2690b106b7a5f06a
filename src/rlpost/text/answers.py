"""Answer extractors: text -> final answer string, or None when nothing parsable is found.

One table, :data:`EXTRACTORS`, and one vocabulary for completions (``*.answer_format``) and gold fields
(``data.answer_parser``) alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rlpost.errors import ConfigError

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:|=)\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)", re.IGNORECASE)


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (balanced braces), or None.

    Example:
        >>> extract_boxed(r"so $\\boxed{\\frac{1}{2}}$.")
        '\\\\frac{1}{2}'
        >>> extract_boxed("no box") is None
        True
    """
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip() or None
    return None


def extract_after_hashes(text: str) -> str | None:
    """GSM8K style: text after the last ``####``, commas removed.

    Example:
        >>> extract_after_hashes("5 + 5 = 10\\n#### 1,000")
        '1000'
    """
    if "####" not in text:
        return None
    tail = text.rsplit("####", 1)[1].strip()
    return tail.replace(",", "").rstrip(".").strip() or None


def extract_last_number(text: str) -> str | None:
    """The last number in the text (integer, decimal or a/b fraction), commas removed.

    Example:
        >>> extract_last_number("3 * 4 = 12. So the answer is 12.")
        '12'
        >>> extract_last_number("no digits") is None
        True
    """
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "").rstrip(".") if found else None


def extract_answer_is(text: str) -> str | None:
    """The number after the last "the answer is" (or ``answer:`` / ``answer =``), commas removed.

    Example:
        >>> extract_answer_is("I think 3. The answer is 1,024.")
        '1024'
    """
    m = _ANSWER_IS.findall(text)
    return m[-1].replace(",", "") if m else None


def extract_as_is(text: str) -> str | None:
    """The whole text, stripped (gold fields that hold just the answer; free-form completions)."""
    return text.strip() or None


def extract_auto(text: str) -> str | None:
    """``boxed``, then ``hashes``, then ``answer_is``, then ``last_number``: the first that finds an answer.

    Example:
        >>> extract_auto("7 * 8 = 56, the answer is 56.")
        '56'
    """
    for extract in (extract_boxed, extract_after_hashes, extract_answer_is):
        found = extract(text)
        if found is not None:
            return found
    return extract_last_number(text)


EXTRACTORS: dict[str, Callable[[str], str | None]] = {
    "none": extract_as_is,
    "boxed": extract_boxed,
    "hashes": extract_after_hashes,
    "answer_is": extract_answer_is,
    "last_number": extract_last_number,
    "auto": extract_auto,
}
RENAMED = {"after_hashes": "hashes"}


def extractor(name: str, key: str = "answer_format") -> Callable[[str], str | None]:
    """The extractor called ``name``; a one-line ConfigError naming the config ``key`` otherwise.

    Example:
        >>> extractor("hashes")("#### 7")
        '7'
        >>> extractor("after_hashes", "data.answer_parser")
        Traceback (most recent call last):
        ...
        rlpost.errors.ConfigError: data.answer_parser=after_hashes was renamed: use hashes
    """
    if name in RENAMED:
        raise ConfigError(f"{key}={name} was renamed: use {RENAMED[name]}")
    if name not in EXTRACTORS:
        raise ConfigError(f"{key}={name!r}: choose one of {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]


def extract_answer(text: str, answer_format: str = "auto", key: str = "answer_format") -> str | None:
    """Final answer of a completion or gold field with the extractor ``answer_format`` (see :data:`EXTRACTORS`).

    Example:
        >>> extract_answer("7 * 8 = 56, the answer is 56.")
        '56'
        >>> extract_answer(r"\\boxed{3}", "boxed")
        '3'
        >>> extract_answer("work...\\n#### 18", "hashes")
        '18'
    """
    return extractor(answer_format, key)(text)
