"""Prompt + completion tokenised the way TRL's trainers do it, so scoring reads the tokens training trains.

TRL 1.16's ``SFTTrainer`` and ``DPOTrainer`` tokenise a string prompt alone and ``prompt + completion`` as one
string, and the completion starts where the two token lists diverge (``trl.data_utils.common_prefix_length``). The
first completion token therefore depends on the prompt's end: after ``"### Response:\\n"`` a SentencePiece (Llama)
tokenizer writes ``Yes`` while the bare word encodes as ``▁Yes``. The yes/no scorer's label ids
(:mod:`rlpost.rollout.label_scores`) and DivPO's teacher-forced log-probabilities
(:mod:`rlpost.rollout.teacher_forcing`) both
come from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromptCompletionIds:
    """One prompt + completion pair, tokenised together.

    Attributes:
        prompt_ids: the prompt tokenised alone.
        ids: ``prompt + completion`` tokenised as one string.
        start: index in ``ids`` where the completion starts (the common prefix with ``prompt_ids``).
    """

    prompt_ids: list[int]
    ids: list[int]
    start: int

    @property
    def completion_ids(self) -> list[int]:
        """The completion's tokens as they follow the prompt."""
        return self.ids[self.start:]

    @property
    def merged(self) -> bool:
        """True when the prompt's last tokens merge with the completion (the prompt alone is not a prefix)."""
        return self.start < len(self.prompt_ids)


def tokenize_prompt_completion(tokenizer: Any, prompts: Sequence[str], completions: Sequence[str],
                               add_special_tokens: bool = True) -> list[PromptCompletionIds]:
    """Tokenise each prompt alone and with its completion appended, as TRL's SFT/DPO trainers do for strings.

    Args:
        tokenizer: the model's tokenizer.
        prompts: rendered prompt strings.
        completions: one completion string per prompt.
        add_special_tokens: add BOS etc. (TRL does for string prompts; rendered chat templates that already carry
            their special tokens are tokenised with False, as :class:`rlpost.rollout.hf.HFEngine` does).
    """
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    if not prompts:
        return []
    from trl.data_utils import common_prefix_length

    alone = tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]
    joint = tokenizer([p + c for p, c in zip(prompts, completions, strict=True)],
                      add_special_tokens=add_special_tokens)["input_ids"]
    return [PromptCompletionIds(list(a), list(j), common_prefix_length(a, j))
            for a, j in zip(alone, joint, strict=True)]
