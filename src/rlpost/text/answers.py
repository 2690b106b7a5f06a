"""Pure answer extractors: text -> final answer string, or None when nothing parsable is found."""

from __future__ import annotations

import re

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


def extract_answer(text: str, answer_format: str = "auto") -> str | None:
    """Final answer of a completion.

    Args:
        text: the completion.
        answer_format: ``boxed``, ``hashes``, ``last_number``, or ``auto`` (boxed, then ``####``,
            then "the answer is X", then the last number).

    Example:
        >>> extract_answer("7 * 8 = 56, the answer is 56.")
        '56'
        >>> extract_answer(r"\\boxed{3}", "boxed")
        '3'
    """
    if answer_format == "boxed":
        return extract_boxed(text)
    if answer_format == "hashes":
        return extract_after_hashes(text)
    if answer_format == "last_number":
        return extract_last_number(text)
    if answer_format != "auto":
        raise ValueError(f"answer_format={answer_format!r}: choose boxed, hashes, last_number or auto")
    for found in (extract_boxed(text), extract_after_hashes(text)):
        if found is not None:
            return found
    m = _ANSWER_IS.findall(text)
    if m:
        return m[-1].replace(",", "")
    return extract_last_number(text)


def parse_gold(text: str, parser: str = "none") -> str | None:
    """Gold answer from a dataset field: ``none`` (as is), ``after_hashes`` (GSM8K), ``boxed`` (MATH), ``last_number``.

    Example:
        >>> parse_gold("work...\\n#### 18", "after_hashes")
        '18'
    """
    if parser == "none":
        return text.strip() or None
    if parser == "after_hashes":
        return extract_after_hashes(text)
    if parser == "boxed":
        return extract_boxed(text)
    if parser == "last_number":
        return extract_last_number(text)
    raise ValueError(f"data.answer_parser={parser!r}: choose none, after_hashes, boxed or last_number")
