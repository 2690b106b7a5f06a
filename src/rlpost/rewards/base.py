"""The reward-function contract shared by every rlpost reward (TRL's signature)."""

from __future__ import annotations

from typing import Any, Protocol


class RewardFunction(Protocol):
    """TRL reward function: one float (or None to abstain) per completion."""

    __name__: str

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]: ...


def completion_text(completion: Any) -> str:
    """Text of a completion: TRL passes a string, or ``[{"role": "assistant", "content": ...}]`` for chat prompts.

    Example:
        >>> completion_text([{"role": "assistant", "content": "42"}])
        '42'
    """
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion if m.get("role", "assistant") == "assistant")
