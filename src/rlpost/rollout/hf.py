"""HF transformers rollout engine: rlpost's decode loop on CPU or GPU, bf16 autocast where the hardware has it."""

from __future__ import annotations

import logging
from typing import Any

from rlpost.rollout.sampling import SamplingSettings, stop_ids_of
from rlpost.runtime.hardware import autocast_for, resolve_dtype
from rlpost.runtime.modes import inference_mode, private_rng
from rlpost.types import Group, Sample

logger = logging.getLogger(__name__)


class HFEngine:
    """Generate with rlpost's decode loop (:mod:`rlpost.rollout.decode`: one prefill per prompt shared by its ``n``
    samples, finished rows dropped; ``model.generate``'s sampling semantics); prompts are length-sorted so each
    batch wastes little padding.

    Args:
        model: a causal LM (kept in its dtype; an fp32 model is autocast to ``autocast_dtype``).
        tokenizer: its tokenizer (chat template applied here).
        max_batch_size: sequences per decode call (prompts × n).
        autocast_dtype: ``auto`` (bf16 where the hardware runs it natively,
            :func:`rlpost.runtime.hardware.resolve_dtype`),
            ``bfloat16``, ``float16``, ``float32`` or None (no autocast).
        dtype_key: the config key ``autocast_dtype`` came from, named in errors and warnings.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch_size: int = 64,
        autocast_dtype: str | None = "auto",
        show_progress: bool = True,
        dtype_key: str = "eval.autocast_dtype",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.autocast_dtype = resolve_dtype(autocast_dtype, device_type=model.device.type, key=dtype_key)
        self.show_progress = show_progress

    def _encode(self, prompts: list[list[dict[str, str]]]) -> list[str]:
        return [self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]

    def generate(
        self, prompts: list[list[dict[str, str]]], params: SamplingSettings, samples: list[Sample] | None = None
    ) -> list[Group]:
        """Return one :class:`Group` per prompt with ``params.n`` completions, summed logprobs and lengths."""
        import torch
        from tqdm.auto import tqdm

        texts = self._encode(prompts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        per_call = max(1, self.max_batch_size // params.n)
        results: dict[int, tuple[list[str], list[float], list[int]]] = {}
        gen = torch.Generator().manual_seed(params.seed)
        batches = [order[i : i + per_call] for i in range(0, len(order), per_call)]
        bar = tqdm(batches, desc="generate", unit="batch", disable=not self.show_progress, leave=False)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
        with private_rng(seed), inference_mode(tokenizer=self.tokenizer, padding_side="left"):
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
        self, texts: list[str], params: SamplingSettings
    ) -> list[tuple[list[str], list[float], list[int]]]:
        tok = self.tokenizer  # left-padded by generate()
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        with self._inference_context():
            return self._decode_batch(enc, params)

    def _inference_context(self) -> Any:
        """``inference_mode`` + autocast to ``autocast_dtype`` when the model is fp32 and that dtype is lower."""
        import contextlib

        import torch

        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(autocast_for(self.model, self.autocast_dtype))
        return stack

    def _decode_batch(self, enc: Any, params: SamplingSettings) -> list[tuple[list[str], list[float], list[int]]]:
        from rlpost.rollout.decode import decode

        stop_ids = self._stop_ids()
        out = decode(self.model, enc["input_ids"], enc["attention_mask"], params, sorted(stop_ids))
        results = []
        for b in range(enc["input_ids"].shape[0]):
            comps, lps, lens = [], [], []
            for r in range(b * params.n, (b + 1) * params.n):
                length = len(out.tokens[r]) - int(out.stopped[r])
                comps.append(self.tokenizer.decode(out.tokens[r][:length], skip_special_tokens=True))
                lps.append(float(sum(out.token_logprobs[r][:length])))
                lens.append(length)
            results.append((comps, lps if params.logprobs else [], lens))
        return results

    def _stop_ids(self) -> set[int]:
        return stop_ids_of(self.model, self.tokenizer)
