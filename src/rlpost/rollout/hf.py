"""HF transformers rollout engine: batched ``generate`` on CPU or GPU, bf16 autocast where it pays."""

from __future__ import annotations

import logging
from typing import Any

from rlpost.datatypes import Group, Sample
from rlpost.rollout.base import SamplingParams

logger = logging.getLogger(__name__)


class HFEngine:
    """Generate with ``model.generate``; prompts are length-sorted so each batch wastes little padding.

    Args:
        model: a causal LM (kept in its dtype; ``autocast_dtype`` enables bf16 autocast on CPU).
        tokenizer: its tokenizer (chat template applied here).
        max_batch_size: sequences per ``generate`` call (prompts × n).
        autocast_dtype: ``bfloat16`` or None.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch_size: int = 64,
        autocast_dtype: str | None = "bfloat16",
        show_progress: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.autocast_dtype = autocast_dtype
        self.show_progress = show_progress

    def _encode(self, prompts: list[list[dict[str, str]]]) -> list[str]:
        return [self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]

    def generate(
        self, prompts: list[list[dict[str, str]]], params: SamplingParams, samples: list[Sample] | None = None
    ) -> list[Group]:
        """Return one :class:`Group` per prompt with ``params.n`` completions, summed logprobs and lengths."""
        import torch
        from tqdm.auto import tqdm

        texts = self._encode(prompts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        per_call = max(1, self.max_batch_size // params.n)
        results: dict[int, tuple[list[str], list[float], list[int]]] = {}
        gen = torch.Generator().manual_seed(params.seed)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        batches = [order[i : i + per_call] for i in range(0, len(order), per_call)]
        bar = tqdm(batches, desc="generate", unit="batch", disable=not self.show_progress, leave=False)
        for idx in bar:
            for i, out in zip(idx, self._generate_batch([texts[i] for i in idx], params), strict=True):
                results[i] = out
        groups = []
        for i, prompt in enumerate(prompts):
            completions, logprobs, lengths = results[i]
            sample = samples[i] if samples else Sample(prompt_id=str(i), question=prompt[-1]["content"])
            groups.append(
                Group(
                    sample=sample,
                    prompt=prompt,
                    completions=completions,
                    logprobs=logprobs if params.logprobs else None,
                    lengths=lengths,
                )
            )
        return groups

    def _generate_batch(
        self, texts: list[str], params: SamplingParams
    ) -> list[tuple[list[str], list[float], list[int]]]:
        import torch

        tok = self.tokenizer
        tok.padding_side = "left"
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "num_return_sequences": params.n,
            "pad_token_id": tok.pad_token_id,
            "return_dict_in_generate": True,
            "output_scores": params.logprobs,
        }
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or 0)
        device_type = self.model.device.type
        use_autocast = self.autocast_dtype is not None and self.model.dtype == torch.float32
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=getattr(torch, self.autocast_dtype or "bfloat16"), enabled=use_autocast),
        ):
            out = self.model.generate(**enc, **kwargs)
        new_tokens = out.sequences[:, enc["input_ids"].shape[1] :]  # [B*n, T]
        token_logp = None
        if params.logprobs:
            # scores are the processed (temperature/top-p) logits: log-probs of the sampling distribution
            token_logp = torch.stack(
                [
                    s.float().log_softmax(-1).gather(-1, new_tokens[:, t : t + 1]).squeeze(-1)
                    for t, s in enumerate(out.scores)
                ],
                dim=1,
            )  # [B*n, T]
        eos_ids = {tok.eos_token_id, tok.pad_token_id} | set(self._eos_ids())
        results = []
        for b in range(len(texts)):
            comps, lps, lens = [], [], []
            for j in range(params.n):
                row = new_tokens[b * params.n + j].tolist()
                length = next((t for t, tid in enumerate(row) if tid in eos_ids), len(row))
                comps.append(tok.decode(row[:length], skip_special_tokens=True))
                if token_logp is not None:
                    lp = token_logp[b * params.n + j, :length]
                    lps.append(float(lp[torch.isfinite(lp)].sum()))
                lens.append(length)
            results.append((comps, lps, lens))
        return results

    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        return [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
