"""Rule-based quality rewards for the DivPO tasks (persona JSON, one-word answers, keyword lists, length).

DivPO's persona reward is validity: 1 when the output parses as JSON with every required key, else 0
(Lanchantin et al., arXiv 2501.18101, task 1). The keyword-story reward forces 0 unless exactly five keywords are given
(task 2; the paper multiplies an ArmoRM score, which rlpost leaves to a reward-model reward).
All rewards follow TRL's signature: ``(prompts, completions, **columns) -> list[float]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rlpost.rewards.base import completion_text
from rlpost.text.words import extract_words, parse_json_object

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def is_valid_json_record(text: str, keys: Sequence[str]) -> bool:
    """True if ``text`` holds a JSON object whose ``keys`` all map to non-empty scalar values.

    Example:
        >>> is_valid_json_record('{"first_name": "Ann", "city": "Oslo"}', ["first_name", "city"])
        True
        >>> is_valid_json_record('{"first_name": ""}', ["first_name"])
        False
    """
    obj = parse_json_object(text)
    if obj is None:
        return False
    return all(isinstance(obj.get(k), (str, int, float)) and str(obj[k]).strip() != "" for k in keys)


def split_keywords(text: str) -> list[str]:
    """Keywords of a comma-, semicolon- or line-separated list (bullets and numbering stripped).

    Example:
        >>> split_keywords("1. storm\\n2. lighthouse, keeper")
        ['storm', 'lighthouse', 'keeper']
    """
    items = []
    for line in text.strip().splitlines():
        line = _LIST_ITEM.sub("", line)
        items += [part.strip(" .") for part in re.split(r"[,;]", line) if part.strip(" .")]
    return items


class JsonRecordReward:
    """1.0 for a JSON object with all ``keys`` (non-empty values), else 0.0 (DivPO persona validity).

    Example:
        >>> JsonRecordReward(keys=["city"])(None, ['{"city": "Oslo"}', "Oslo"])
        [1.0, 0.0]
    """

    __name__ = "json_record"

    def __init__(self, keys: Sequence[str] = ("first_name", "city", "occupation")) -> None:
        self.keys = list(keys)

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        return [float(is_valid_json_record(completion_text(c), self.keys)) for c in completions]


class WordCountReward:
    """1.0 when the completion has exactly ``count`` words (one-word "name a random X" answers), else 0.0.

    Example:
        >>> WordCountReward(count=1)(None, ["Zebra.", "a zebra"])
        [1.0, 0.0]
    """

    __name__ = "word_count"

    def __init__(self, count: int = 1) -> None:
        self.count = count

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        return [float(len(extract_words(completion_text(c))) == self.count) for c in completions]


class KeywordCountReward:
    """1.0 when the completion lists exactly ``count`` keywords of at most ``max_words`` words each, else 0.0.

    Example:
        >>> KeywordCountReward(count=2)(None, ["storm, lighthouse", "storm"])
        [1.0, 0.0]
    """

    __name__ = "keyword_count"

    def __init__(self, count: int = 5, max_words: int = 3) -> None:
        self.count = count
        self.max_words = max_words

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        out = []
        for c in completions:
            items = split_keywords(completion_text(c))
            ok = len(items) == self.count and all(1 <= len(extract_words(k)) <= self.max_words for k in items)
            out.append(float(ok))
        return out


class LengthBandReward:
    """1.0 when the completion has between ``min_chars`` and ``max_chars`` characters, else 0.0.

    Example:
        >>> LengthBandReward(min_chars=2, max_chars=4)(None, ["a", "abc", "abcdef"])
        [0.0, 1.0, 0.0]
    """

    __name__ = "length_band"

    def __init__(self, min_chars: int = 1, max_chars: int = 400) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        return [float(self.min_chars <= len(completion_text(c).strip()) <= self.max_chars) for c in completions]
