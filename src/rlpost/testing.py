"""Offline test fixtures: canonical rows and deterministic rewards for tests and benchmarks (no network).

The tiny random model they train lives in :mod:`rlpost.runtime.tiny_model`.
"""

from __future__ import annotations

from typing import Any


class DigitFractionReward:
    """Test reward with variance even for a random model: the fraction of digit characters in the completion."""

    __name__ = "digits"

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        from rlpost.rewards.base import completion_text

        texts = [completion_text(c) for c in completions]
        return [sum(ch.isdigit() for ch in t) / max(1, len(t)) for t in texts]


class HashReward:
    """Deterministic pseudo-random reward in [0, 1) from the completion text: every group has reward variance,
    so a GRPO step on the tiny random model always moves the weights (tests and benchmarks only).

    Example:
        >>> r = HashReward()
        >>> r(prompts=["p", "p"], completions=["a", "a"]) == r(prompts=["q", "q"], completions=["a", "a"])
        True
    """

    __name__ = "hash"

    def __init__(self, delay_s: float = 0.0) -> None:
        # sleeping per call slows a tiny-model step down enough for kill/resume tests to hit mid-training
        self.delay_s = delay_s

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        import hashlib
        import time

        from rlpost.rewards.base import completion_text

        time.sleep(self.delay_s)
        return [int(hashlib.sha256(completion_text(c).encode()).hexdigest()[:8], 16) / 2**32 for c in completions]


class HalfUniformReward(HashReward):
    """:class:`HashReward` on about half of the prompts and a constant 0.5 on the others (chosen by a hash of the
    prompt text), so a known share of groups has equal rewards: tests of dynamic sampling.

    Example:
        >>> r = HalfUniformReward()
        >>> sorted({len(set(r(prompts=[p] * 4, completions=["a", "b", "c", "d"]))) for p in "pqrstuvw"})
        [1, 4]
    """

    __name__ = "half_uniform"

    @staticmethod
    def is_uniform(prompt: Any) -> bool:
        import hashlib

        return int(hashlib.sha256(str(prompt).encode()).hexdigest()[:8], 16) % 2 == 0

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        varied = super().__call__(prompts, completions, **columns)
        return [0.5 if self.is_uniform(p) else v for p, v in zip(prompts, varied, strict=True)]
