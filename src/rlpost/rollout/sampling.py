"""Backend-neutral sampling parameters and the engine interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rlpost.types import Group


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings; ``top_k=None`` means off (each engine translates it)."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    max_new_tokens: int = 256
    # completions per prompt
    n: int = 1
    # greedy decoding (temperature ignored)
    greedy: bool = False
    seed: int = 0
    # also return the summed log-probability of each completion (costs memory: T x B x V scores)
    logprobs: bool = False


class RolloutEngine(Protocol):
    """Generates ``n`` completions per chat prompt."""

    def generate(self, prompts: list[list[dict[str, str]]], params: SamplingParams) -> list[Group]: ...


def stop_ids_of(model: Any, tokenizer: Any) -> set[int]:
    """The ids that end a completion (every engine stops on these): tokenizer eos/pad, generation config eos ids."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos_ids = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
    return {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id, *eos_ids) if i is not None}
