"""Score P(positive) vs P(negative) label words at the answer position (TALLRec's AUC protocol, any tokenizer).

TALLRec hard-codes LLaMA-1 ids 8241 ("Yes") and 3782 ("No") and renormalises the two probabilities of the first
generated token (../shared/PAPERS.md "TALLRec", AUC computation). Here the ids come from the model's own tokenizer:
each label word is tokenised with and without a leading space, and the variant that fits the prompt's last
character is used (no space after whitespace such as ``"### Response:\\n"``, a space after ``"Answer:"``).
The same scorer serves zero-shot, in-context (per-prompt label words, e.g. abstract symbols) and LoRA models.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rlpost.errors import ConfigError
from rlpost.hardware import autocast_enabled, resolve_dtype

logger = logging.getLogger(__name__)


def find_label_token_id(tokenizer: Any, word: str, after_space: bool, multi_token: str = "error") -> int:
    """Token id that starts the label ``word`` right after a prompt.

    Args:
        tokenizer: the model's tokenizer.
        word: label word without leading space, e.g. ``"Yes"``.
        after_space: the prompt ends with whitespace, so try ``word`` before ``" " + word``.
        multi_token: ``error`` (default) if no variant is a single token; ``first`` scores the first token.

    Raises:
        ConfigError: no single-token variant (and ``multi_token=error``).
    """
    variants = [word, " " + word] if after_space else [" " + word, word]
    encoded = {v: tokenizer.encode(v, add_special_tokens=False) for v in variants}
    for v in variants:
        if len(encoded[v]) == 1:
            return encoded[v][0]
    if multi_token == "first":
        return encoded[variants[0]][0]
    raise ConfigError(f"label word {word!r} is several tokens for this tokenizer ({encoded}); pick single-token "
                      "label words or set eval.scorer.multi_token=first to score the first token")


def find_label_pair(tokenizer: Any, words: tuple[str, str], after_space: bool,
                    multi_token: str = "error") -> tuple[int, int]:
    """Token ids of (positive, negative) label words; they must differ.

    With ``multi_token=first`` and a shared first token (a byte-level tokenizer's space), the other spacing
    variant is tried: that mode is an approximation meant for test tokenizers.

    Raises:
        ConfigError: both words start with the same token.
    """
    pos, neg = (find_label_token_id(tokenizer, w, after_space, multi_token) for w in words)
    if pos == neg and multi_token == "first":
        pos, neg = (find_label_token_id(tokenizer, w, not after_space, multi_token) for w in words)
    if pos == neg:
        raise ConfigError(f"label words {words} start with the same token id {pos}; they cannot be told apart")
    return pos, neg


class YesNoScorer:
    """Batched P(positive label) at the answer position, renormalised over the two label tokens.

    Args:
        positive: positive label word (TALLRec: ``Yes``).
        negative: negative label word (TALLRec: ``No``).
        batch_size: prompts per forward pass.
        multi_token: ``error`` | ``first`` (see :func:`find_label_token_id`).
        max_length: left-truncate prompts to this many tokens (None = no truncation).
        autocast_dtype: autocast fp32 models to this dtype while scoring; ``auto`` = bf16 where the hardware runs
            it natively (~1.5x faster on AVX-512-BF16 CPUs, ~10x slower emulated on AVX2), else none
            (:func:`rlpost.hardware.resolve_dtype`); None = no autocast.
    """

    def __init__(self, positive: str = "Yes", negative: str = "No", batch_size: int = 8, multi_token: str = "error",
                 max_length: int | None = None, autocast_dtype: str | None = "auto") -> None:
        if multi_token not in ("error", "first"):
            raise ConfigError(f"eval.scorer.multi_token={multi_token!r} must be error or first")
        self.words = (positive, negative)
        self.batch_size = batch_size
        self.multi_token = multi_token
        self.max_length = max_length
        self.autocast_dtype = autocast_dtype

    def label_ids(self, tokenizer: Any, prompts: Sequence[str],
                  label_words: Sequence[tuple[str, str]] | None) -> list[tuple[int, int]]:
        """(positive, negative) token ids per prompt, cached per distinct (words, trailing-space) pair."""
        cache: dict[tuple[tuple[str, str], bool], tuple[int, int]] = {}
        out = []
        for i, prompt in enumerate(prompts):
            words = tuple(label_words[i]) if label_words is not None else self.words
            key = (words, prompt[-1:].isspace())
            if key not in cache:
                cache[key] = find_label_pair(tokenizer, words, key[1], self.multi_token)
            out.append(cache[key])
        return out

    def score(self, model: Any, tokenizer: Any, prompts: Sequence[str],
              label_words: Sequence[tuple[str, str]] | None = None, desc: str = "scoring") -> list[float]:
        """P(positive) / (P(positive) + P(negative)) of the next token after each prompt.

        Args:
            model: a causal LM (plain or peft-wrapped).
            tokenizer: its tokenizer (padding is done on the left, so position -1 is the answer position). Prompts
                are tokenised with special tokens added, as TRL's SFTTrainer does for string prompts.
            prompts: fully rendered prompt strings (chat template already applied).
            label_words: optional per-prompt (positive, negative) words, e.g. abstract ICL labels.
            desc: progress-bar label.
        """
        import torch
        from tqdm.auto import tqdm

        ids = self.label_ids(tokenizer, prompts, label_words)
        dtype_name = resolve_dtype(self.autocast_dtype, device_type=model.device.type,
                                   key="eval.scorer.autocast_dtype")
        autocast = autocast_enabled(dtype_name, model.dtype)
        dtype = getattr(torch, dtype_name) if autocast else torch.bfloat16
        side, tside = tokenizer.padding_side, tokenizer.truncation_side
        tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
        was_training = model.training
        model.eval()
        scores: list[float] = []
        try:
            for start in tqdm(range(0, len(prompts), self.batch_size), desc=desc, leave=False):
                batch = list(prompts[start:start + self.batch_size])
                enc = tokenizer(batch, return_tensors="pt", padding=True,
                                truncation=self.max_length is not None, max_length=self.max_length)
                enc = {k: v.to(model.device) for k, v in enc.items()}
                with torch.no_grad(), torch.autocast(model.device.type, dtype=dtype, enabled=autocast):
                    logits = model(**enc, logits_to_keep=1).logits[:, -1, :].float()
                pair = torch.tensor(ids[start:start + len(batch)], device=logits.device)
                two = logits.gather(1, pair)
                scores.extend(torch.softmax(two, dim=-1)[:, 0].tolist())
        finally:
            tokenizer.padding_side, tokenizer.truncation_side = side, tside
            model.train(was_training)
        return scores
