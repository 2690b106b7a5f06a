"""Words, the JSON object in free text, and attribute values folded for counting (rewards, eval, DivPO)."""

from __future__ import annotations

import json
import re
from typing import Any

_WORD = re.compile(r"[\w']+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```\s*$")


def extract_words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``.

    Example:
        >>> extract_words("Hello, hello World!")
        ['hello', 'hello', 'world']
    """
    return _WORD.findall(text.lower())


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` (code fences and text around the outermost braces are ignored), else None.

    Example:
        >>> parse_json_object('Sure! ```json\\n{"a": 1}\\n```')
        {'a': 1}
        >>> parse_json_object("{not json}") is None
        True
    """
    text = _FENCE.sub("", text.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        obj = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def normalise_value(value: Any) -> str:
    """Canonical form of an attribute value for counting (case, spaces and punctuation folded).

    Example:
        >>> normalise_value("  New York. ")
        'new york'
    """
    return " ".join(extract_words(str(value)))
