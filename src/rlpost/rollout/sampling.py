"""Backend-neutral sampling parameters and the engine interface."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from rlpost.types import Group


@dataclass(frozen=True)
class SamplingSettings:
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

    @classmethod
    def from_cfg(cls, node: Any, **fixed: Any) -> SamplingSettings:
        """The settings of a sampling config node (``sampling``, ``eval.sampling``) plus what the caller fixes.

        Example:
            >>> s = SamplingSettings.from_cfg({"temperature": 0.7, "top_k": None, "max_new_tokens": 48}, n=8)
            >>> s.temperature, s.max_new_tokens, s.n, s.seed
            (0.7, 48, 8, 0)
        """
        return cls(**{k: node[k] for k in CONFIG_FIELDS if k in node}, **fixed)


# the fields a config node sets (conf/sampling/, eval.sampling); n, greedy, seed and logprobs are the caller's
CONFIG_FIELDS = ("temperature", "top_p", "top_k", "max_new_tokens")


def config_schema() -> type:
    """The dataclass Hydra checks a sampling config node against: :data:`CONFIG_FIELDS` with their types and
    defaults, taken from :class:`SamplingSettings` (one definition for code and config)."""
    fields = {f.name: f for f in dataclasses.fields(SamplingSettings)}
    return dataclasses.make_dataclass("SamplingConfig", [(n, fields[n].type, dataclasses.field(
        default=fields[n].default)) for n in CONFIG_FIELDS])


class RolloutEngine(Protocol):
    """Generates ``n`` completions per chat prompt."""

    def generate(self, prompts: list[list[dict[str, str]]], params: SamplingSettings) -> list[Group]: ...


def stop_ids_of(model: Any, tokenizer: Any) -> set[int]:
    """The ids that end a completion (every engine stops on these): tokenizer eos/pad, generation config eos ids."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos_ids = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
    return {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id, *eos_ids) if i is not None}
