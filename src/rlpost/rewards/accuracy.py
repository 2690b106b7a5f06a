"""Gold-label correctness reward (RLVR)."""

from __future__ import annotations

from typing import Any

from rlpost.rewards.base import completion_text
from rlpost.rewards.verify import math_equal
from rlpost.text.answers import extract_answer, extractor


class AccuracyReward:
    """1.0 when the completion's final answer is equivalent to the gold ``answer`` column, else 0.0.

    Rows without a gold answer abstain (None), so mixed labelled/unlabelled data is safe.

    Example:
        >>> AccuracyReward()(None, ["so 2+2 = 4", "5"], answer=["4", "4"])
        [1.0, 0.0]
    """

    __name__ = "accuracy"

    def __init__(self, answer_format: str = "auto") -> None:
        extractor(answer_format, f"reward.funcs.{self.__name__}.answer_format")  # a bad name fails at startup
        self.answer_format = answer_format

    def __call__(self, prompts: Any, completions: list[Any], answer: list[str | None], **_: Any) -> list[float | None]:
        out: list[float | None] = []
        for completion, gold in zip(completions, answer, strict=True):
            if gold is None:
                out.append(None)
                continue
            pred = extract_answer(completion_text(completion), self.answer_format)
            out.append(1.0 if math_equal(pred, gold) else 0.0)
        return out
