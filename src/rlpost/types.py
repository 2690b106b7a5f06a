"""The shared vocabulary passed between rlpost modules (dataclasses only, no logic)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    """One normalised dataset row."""

    prompt_id: str
    question: str
    # gold label; None for unlabeled (self-consistency) data
    answer: str | None = None


@dataclass
class Group:
    """All completions sampled for one prompt; G = len(completions)."""

    sample: Sample
    prompt: list[dict[str, str]]
    completions: list[str]
    # sum of token logprobs under the sampling policy, one per completion
    logprobs: list[float] | None = None
    # number of generated tokens, one per completion
    lengths: list[int] | None = None
    # log pi(y_t | x, y_<t) of every completion token at temperature 1, teacher-forced (one list per completion)
    token_logprobs: list[list[float]] | None = None


@dataclass(frozen=True)
class PreferencePair:
    """A chosen/rejected pair for DPO."""

    prompt: list[dict[str, str]]
    chosen: str
    rejected: str
    # chosen/rejected reward & diversity, for logging
    meta: dict[str, float] = field(default_factory=dict)
