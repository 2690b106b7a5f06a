"""vLLM rollout engine behind the same interface as :class:`rlpost.rollout.hf.HFEngine` (``rollout.use_vllm=true``).

Conventions shared with the HF engine, so that choosing the engine changes speed, never results:

* prompts are rendered with the HF tokenizer's chat template and passed as token ids (no second tokenizer);
* generation stops on the same ids (eos ids of the tokenizer and generation config, and the pad id);
* a completion's text, length and summed log-probability exclude the stop token;
* log-probs are those of the *sampling* distribution (after temperature/top-k/top-p: vLLM's
  ``logprobs_mode="processed_logprobs"``), like :func:`rlpost.rollout.decode.select_next`;
* greedy decoding is vLLM's ``temperature=0``; with the same fp32 weights the tokens equal the HF engine's
  (tests/vllm/test_vllm_engine.py);
* ``params.seed`` fixes the samples: each prompt gets its own seed drawn from ``random.Random(params.seed)``.
"""

from __future__ import annotations

import logging
import random
import tempfile
from pathlib import Path
from typing import Any

from rlpost.rollout.sampling import SamplingSettings, stop_ids_of
from rlpost.rollout.vllm_settings import engine_device, import_vllm, llm_kwargs, prepare_cpu_env, whole_prefill_kwargs
from rlpost.types import Group, Sample

logger = logging.getLogger(__name__)


def build_llm(model_dir: str | Path, rollout_cfg: Any, seed: int = 0, **extra: Any) -> Any:
    """A ``vllm.LLM`` on ``model_dir`` with this hardware's settings (:mod:`rlpost.rollout.vllm_settings`)."""
    vllm = import_vllm()
    device = engine_device()
    kwargs = {**llm_kwargs(rollout_cfg, device), "logprobs_mode": "processed_logprobs", "seed": seed}
    if device == "cpu":
        prepare_cpu_env(rollout_cfg)
        kwargs |= whole_prefill_kwargs(kwargs.get("max_model_len"), model_dir)  # per-request seeds, below
    kwargs |= extra
    if device == "cuda":
        kwargs.setdefault("gpu_memory_utilization", rollout_cfg.get("gpu_memory_utilization", 0.3))
    return vllm.LLM(model=str(model_dir), **kwargs)


class VLLMEngine:
    """Generate with a ``vllm.LLM``; same :class:`Group` outputs as ``HFEngine.generate``.

    Args:
        llm: a ``vllm.LLM`` (see :func:`build_llm`).
        tokenizer: the policy's HF tokenizer (chat template, stop ids, decoding).
        stop_ids: token ids that end a completion (:func:`rlpost.rollout.sampling.stop_ids_of`).
        lora_request: a ``vllm.lora.request.LoRARequest`` applied to every request, or None.
    """

    def __init__(self, llm: Any, tokenizer: Any, stop_ids: set[int], lora_request: Any = None) -> None:
        self.llm = llm
        self.tokenizer = tokenizer
        self.stop_ids = stop_ids
        self.lora_request = lora_request

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, rollout_cfg: Any, seed: int = 0) -> VLLMEngine:
        """Save the in-memory ``model`` (fp32 on CPU) to a temporary directory and start vLLM on it."""
        tmp = tempfile.TemporaryDirectory(prefix="rlpost-vllm-")
        model.save_pretrained(tmp.name, safe_serialization=True)
        tokenizer.save_pretrained(tmp.name)
        engine = cls(build_llm(tmp.name, rollout_cfg, seed=seed), tokenizer, stop_ids_of(model, tokenizer))
        engine._tmp = tmp  # the files live as long as the engine
        return engine

    def sampling_params(self, params: SamplingSettings, seed: int | None) -> Any:
        """rlpost's :class:`SamplingSettings` -> ``vllm.SamplingParams`` (same temperature, lengths, top-k/p)."""
        from vllm import SamplingParams as VSP

        common = {"n": params.n, "max_tokens": params.max_new_tokens, "stop_token_ids": sorted(self.stop_ids),
                  "logprobs": 0 if params.logprobs else None, "detokenize": False}
        if params.greedy:
            return VSP(temperature=0.0, **common)
        return VSP(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or 0, seed=seed,
                   **common)

    def generate(
        self, prompts: list[list[dict[str, str]]], params: SamplingSettings, samples: list[Sample] | None = None
    ) -> list[Group]:
        """Return one :class:`Group` per prompt with ``params.n`` completions, summed logprobs and lengths."""
        tok = self.tokenizer
        ids = [tok(tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"] for p in prompts]
        rng = random.Random(params.seed)
        seeds = [rng.randrange(2**31 - 1) for _ in prompts]
        sps = [self.sampling_params(params, s) for s in seeds]
        outs = self.llm.generate([{"prompt_token_ids": x} for x in ids], sampling_params=sps, use_tqdm=False,
                                 lora_request=self.lora_request)
        groups = []
        for i, (prompt, out) in enumerate(zip(prompts, outs, strict=True)):
            completions, logprobs, lengths = [], [], []
            for comp in out.outputs:
                token_ids = list(comp.token_ids)
                length = len(token_ids) - int(bool(token_ids) and token_ids[-1] in self.stop_ids)
                completions.append(tok.decode(token_ids[:length], skip_special_tokens=True))
                lengths.append(length)
                if params.logprobs:
                    logprobs.append(sum(step[t].logprob for step, t in
                                        zip(comp.logprobs[:length], token_ids[:length], strict=True)))
            sample = samples[i] if samples else Sample(prompt_id=str(i), question=prompt[-1]["content"])
            groups.append(Group(sample=sample, prompt=prompt, completions=completions,
                                logprobs=logprobs if params.logprobs else None, lengths=lengths))
        return groups

