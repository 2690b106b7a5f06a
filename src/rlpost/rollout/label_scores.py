"""Score the positive vs negative label word at the answer position (TALLRec's AUC protocol, any tokenizer).

TALLRec hard-codes LLaMA-1 ids 8241 (``Yes``) and 3782 (``No``) and renormalises the two probabilities of the first
generated token (Bao et al., RecSys 2023). Here the ids come from the model's own tokenizer, read from how the label
follows the prompt (:func:`label_token_ids`): ``prompt + word`` is tokenised as TRL's SFT trainer tokenises a
prompt-completion row, and the first completion token is the label id. After ``"### Response:\\n"`` that is
``Yes`` (SentencePiece writes ``▁Yes`` only for the bare word); after ``"Answer:"`` the completion is ``" Yes"``.

The score is the log-odds ``logit(positive) - logit(negative)``, with the LM head computed in float32 even when the
forward runs under bf16 autocast (:func:`rlpost.rollout.teacher_forcing.fp32_lm_head`): AUC ranks these margins
directly, and P(positive) = sigmoid(margin) is the two-way renormalised probability.
The same scorer serves zero-shot, in-context (per-prompt label words, e.g. abstract symbols) and LoRA models.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from rlpost.data.tokenization import tokenize_prompt_completion
from rlpost.errors import ConfigError
from rlpost.runtime.hardware import autocast_for, resolve_dtype
from rlpost.runtime.modes import inference_mode

logger = logging.getLogger(__name__)


def label_completion(prompt: str, word: str, special_tokens: Sequence[str] = ()) -> str:
    """The text a label word is written as after ``prompt``: bare after whitespace or a special token (a chat
    template's assistant header), else after a space (``"Answer: Yes"``).

    Example:
        >>> label_completion("### Response:\\n", "Yes"), label_completion("Answer:", "Yes")
        ('Yes', ' Yes')
        >>> label_completion("<|assistant|>", "Yes", special_tokens=["<|assistant|>"])
        'Yes'
    """
    if not prompt or prompt[-1].isspace() or any(prompt.endswith(t) for t in special_tokens if t):
        return word
    return " " + word


def label_token_ids(tokenizer: Any, prompts: Sequence[str], words: Sequence[tuple[str, str]],
                    multi_token: str = "error") -> list[tuple[int, int]]:
    """(positive, negative) token ids per prompt: the first token of each label word as it follows the prompt.

    This is the one place label ids are chosen; the scorer and the SFT target check (:meth:`YesNoScorer.check_targets`)
    both use it.

    Args:
        tokenizer: the model's tokenizer (prompts are tokenised with special tokens, as TRL and the scorer do).
        prompts: rendered prompts.
        words: one (positive, negative) word pair per prompt, without leading space.
        multi_token: ``error`` (default) if a label is several tokens after the prompt; ``first`` scores its first
            token, and when both labels then share it (a byte-level tokenizer's space) the bare words are used:
            an approximation meant for test tokenizers.

    Raises:
        ConfigError: a label is several tokens (``multi_token=error``), the prompt's last tokens merge with the
            label, or both labels start with the same token.
    """
    specials = [*getattr(tokenizer, "all_special_tokens", []), *getattr(tokenizer, "added_tokens_encoder", {})]

    def first_tokens(spaced: bool) -> list[list[int]]:
        texts = [label_completion(p, w, specials) if spaced else w
                 for p, pair in zip(prompts, words, strict=True) for w in pair]
        doubled = [p for p in prompts for _ in range(2)]
        out = []
        for prompt, text, enc in zip(doubled, texts, tokenize_prompt_completion(tokenizer, doubled, texts),
                                     strict=True):
            if enc.merged or not enc.completion_ids:
                raise ConfigError(f"label {text!r} merges with the end of the prompt ...{prompt[-20:]!r} when "
                                  "tokenised; end prompts on a token boundary (e.g. without a trailing space)")
            out.append(enc.completion_ids)
        return out

    tokens = first_tokens(spaced=True)
    if multi_token == "error":
        for text, ids in zip((w for pair in words for w in pair), tokens, strict=True):
            if len(ids) != 1:
                raise ConfigError(f"label word {text!r} is {len(ids)} tokens after the prompt "
                                  f"({tokenizer.convert_ids_to_tokens(ids)}); pick single-token label words or set "
                                  "eval.scorer.multi_token=first to score the first token")
    pairs = [(tokens[2 * i][0], tokens[2 * i + 1][0]) for i in range(len(prompts))]
    if multi_token == "first" and any(pos == neg for pos, neg in pairs):
        bare = first_tokens(spaced=False)
        pairs = [(b[0][0], b[1][0]) if pos == neg else (pos, neg)
                 for (pos, neg), b in zip(pairs, zip(bare[0::2], bare[1::2], strict=True), strict=True)]
    for (pos, neg), pair in zip(pairs, words, strict=True):
        if pos == neg:
            raise ConfigError(f"label words {tuple(pair)} start with the same token id {pos}; they cannot be told "
                              "apart")
    return pairs


def sigmoid(margin: float) -> float:
    """P(positive) from a log-odds margin (numerically stable).

    Example:
        >>> sigmoid(0.0), round(sigmoid(-40.0), 20)
        (0.5, 4.25e-18)
    """
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    z = math.exp(margin)
    return z / (1.0 + z)


class YesNoScorer:
    """Batched log-odds of the positive vs the negative label token at the answer position.

    Args:
        positive: positive label word (TALLRec: ``Yes``).
        negative: negative label word (TALLRec: ``No``).
        batch_size: prompts per forward pass.
        multi_token: ``error`` | ``first`` (see :func:`label_token_ids`).
        max_length: left-truncate prompts to this many tokens (None = no truncation).
        autocast_dtype: autocast fp32 models to this dtype while scoring; ``auto`` = bf16 where the hardware runs
            it natively (~1.5x faster on AVX-512-BF16 CPUs, ~10x slower emulated on AVX2), else none
            (:func:`rlpost.runtime.hardware.resolve_dtype`); None = no autocast. The LM head is computed in float32
            either
            way.
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
                  label_words: Sequence[tuple[str, str]] | None = None) -> list[tuple[int, int]]:
        """(positive, negative) token ids per prompt (:func:`label_token_ids`), each distinct prompt tokenised once."""
        words = [tuple(label_words[i]) if label_words is not None else self.words for i in range(len(prompts))]
        keys = list(dict.fromkeys(zip(prompts, words, strict=True)))
        found = label_token_ids(tokenizer, [k[0] for k in keys], [k[1] for k in keys], self.multi_token)
        lookup = dict(zip(keys, found, strict=True))
        return [lookup[k] for k in zip(prompts, words, strict=True)]

    def check_targets(self, tokenizer: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Check that training answers start with the label tokens this scorer reads.

        Args:
            tokenizer: the model's tokenizer.
            rows: prompt-completion rows with ``prompt``, ``completion`` (``"Yes."``) and ``label`` (1 = positive).

        Raises:
            ConfigError: a completion's first token, tokenised after its prompt as TRL's SFT trainer does, is not the
                scorer's label token for that prompt (naming ``eval.scorer.positive`` / ``negative``).
        """
        firsts = {}
        for row in rows:
            firsts.setdefault(int(row["label"]), row)
        chosen = [firsts[k] for k in sorted(firsts)]
        encoded = tokenize_prompt_completion(tokenizer, [r["prompt"] for r in chosen],
                                             [r["completion"] for r in chosen])
        for row, enc, ids in zip(chosen, encoded, self.label_ids(tokenizer, [r["prompt"] for r in chosen]),
                                 strict=True):
            side = 0 if row["label"] == 1 else 1
            trained = enc.completion_ids[:1]
            if trained != [ids[side]]:
                key = ("positive", "negative")[side]
                raise ConfigError(f"eval.scorer.{key}={self.words[side]!r} is token "
                                  f"{tokenizer.convert_ids_to_tokens(ids[side])!r} after the prompt, but training "
                                  f"answers {row['completion']!r} start with "
                                  f"{tokenizer.convert_ids_to_tokens(trained)}; set eval.scorer.{key} to the answers' "
                                  "first word")

    def score(self, model: Any, tokenizer: Any, prompts: Sequence[str],
              label_words: Sequence[tuple[str, str]] | None = None, desc: str = "scoring") -> list[float]:
        """logit(positive) - logit(negative) of the next token after each prompt, in float32.

        The margin is the log-odds of the two-way renormalised P(positive) (:func:`sigmoid` turns it back into
        that probability); rank it for AUC and pass it to :func:`rlpost.eval.binary.binary_metrics` with
        ``logits=True``.

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

        from rlpost.rollout.teacher_forcing import fp32_lm_head

        ids = self.label_ids(tokenizer, prompts, label_words)
        dtype_name = resolve_dtype(self.autocast_dtype, device_type=model.device.type,
                                   key="eval.scorer.autocast_dtype")
        scores: list[float] = []
        with inference_mode(model, tokenizer, padding_side="left", truncation_side="left"):
            for start in tqdm(range(0, len(prompts), self.batch_size), desc=desc, leave=False):
                batch = list(prompts[start:start + self.batch_size])
                enc = tokenizer(batch, return_tensors="pt", padding=True,
                                truncation=self.max_length is not None, max_length=self.max_length)
                enc = {k: v.to(model.device) for k, v in enc.items()}
                with autocast_for(model, dtype_name), fp32_lm_head(model):
                    logits = model(**enc, logits_to_keep=1).logits[:, -1, :].float()
                pair = torch.tensor(ids[start:start + len(batch)], device=logits.device)
                two = logits.gather(1, pair)
                scores.extend((two[:, 0] - two[:, 1]).tolist())
        return scores
