"""Format rewards: reward the shape of a completion, not its correctness."""

from __future__ import annotations

from typing import Any

from rlpost.rewards.base import completion_text
from rlpost.text.answers import extract_answer, extractor


class AnswerFormatReward:
    """1.0 when a final answer can be extracted in ``answer_format`` (e.g. a ``\\boxed{}``), else 0.0.

    Example:
        >>> AnswerFormatReward("boxed")(None, [r"\\boxed{3}", "3"])
        [1.0, 0.0]
    """

    __name__ = "format"

    def __init__(self, answer_format: str = "boxed") -> None:
        extractor(answer_format, f"reward.funcs.{self.__name__}.answer_format")  # a bad name fails at startup
        self.answer_format = answer_format

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        return [0.0 if extract_answer(completion_text(c), self.answer_format) is None else 1.0 for c in completions]


class LengthPenalty:
    """Negative reward proportional to the completion length in characters beyond ``max_chars``.

    Example:
        >>> LengthPenalty(max_chars=4, per_char=0.5)(None, ["abc", "abcdef"])
        [0.0, -1.0]
    """

    __name__ = "length"

    def __init__(self, max_chars: int = 400, per_char: float = 0.001) -> None:
        self.max_chars = max_chars
        self.per_char = per_char

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        overs = [max(0, len(completion_text(c)) - self.max_chars) for c in completions]
        return [-self.per_char * over if over else 0.0 for over in overs]
