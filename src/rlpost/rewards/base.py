"""Helpers shared by every rlpost reward.

A reward follows TRL's signature: ``__call__(prompts, completions, **columns) -> list[float | None]`` (one float per
completion, None to abstain) and a ``__name__``.
"""

from __future__ import annotations

from typing import Any


def completion_text(completion: Any) -> str:
    """Text of a completion: TRL passes a string, or ``[{"role": "assistant", "content": ...}]`` for chat prompts.

    Example:
        >>> completion_text([{"role": "assistant", "content": "42"}])
        '42'
    """
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion if m.get("role", "assistant") == "assistant")
