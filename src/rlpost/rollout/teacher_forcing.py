"""Teacher-forced scoring of given text under a causal LM: the LM head in float32, log pi(y|x) at temperature 1.

- :func:`fp32_lm_head` recomputes the output projection in float32, outside autocast, while the rest of the forward
  may run in bf16: logits quantised to bf16 (8 bits of mantissa) put many close scores on the same value.
- :func:`completion_logprobs` gives log pi(y_t | x, y_<t) for every token of given completions, one batched forward
  per ``batch_size`` pairs in inference mode, with the tokens TRL's trainers would use
  (:func:`rlpost.data.tokenization.tokenize_prompt_completion`). Unlike the log-probs a sampler returns, these are
  of the model itself: no temperature, top-k or top-p.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from rlpost.data.tokenization import tokenize_prompt_completion
from rlpost.runtime.modes import inference_mode

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def fp32_lm_head(model: Any) -> Iterator[None]:
    """While active, the model's output projection returns float32 logits computed in float32 (autocast off).

    The head's own output is replaced through a forward hook, so the model's forward (logit scaling, soft-capping,
    ``logits_to_keep``) is unchanged. A head that is not a plain ``nn.Linear`` (e.g. a LoRA-wrapped ``lm_head``)
    is left as it is, with a warning.
    """
    import torch

    head = model.get_output_embeddings()
    if type(head) is not torch.nn.Linear:
        logger.warning("output head %s is not a plain Linear: logits stay in the model's compute dtype",
                       type(head).__name__)
        yield
        return

    def project(module: Any, args: tuple[Any, ...], output: Any) -> Any:
        with torch.autocast(args[0].device.type, enabled=False):
            bias = None if module.bias is None else module.bias.float()
            return torch.nn.functional.linear(args[0].float(), module.weight.float(), bias)

    handle = head.register_forward_hook(project)
    try:
        yield
    finally:
        handle.remove()


def inference_context(model: Any, autocast_dtype: str | None, key: str = "autocast_dtype") -> contextlib.ExitStack:
    """``inference_mode`` + autocast of a float32 model to ``autocast_dtype`` (``auto``: the hardware rule of
    :func:`rlpost.runtime.hardware.resolve_dtype`; None: no autocast), as :class:`rlpost.rollout.hf.HFEngine`
    generates."""
    import torch

    from rlpost.runtime.hardware import autocast_for, resolve_dtype

    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    stack.enter_context(autocast_for(model, resolve_dtype(autocast_dtype, device_type=model.device.type, key=key)))
    return stack


def completion_logprobs(model: Any, tokenizer: Any, prompts: Sequence[str], completions: Sequence[str],
                        batch_size: int = 8, autocast_dtype: str | None = "auto",
                        add_special_tokens: bool = False) -> list[list[float]]:
    """Per-token log pi(y_t | x, y_<t) of each completion after its prompt, at temperature 1 (teacher forcing).

    Args:
        model: a causal LM (its training mode is restored afterwards).
        tokenizer: its tokenizer; sequences are left-padded with explicit position ids.
        prompts: rendered prompts (chat template applied).
        completions: one completion string per prompt.
        batch_size: pairs per forward pass (memory: batch x longest completion x vocabulary floats).
        autocast_dtype: autocast a float32 model's forward to this dtype (``auto``: bf16 where the hardware runs it
            natively); the LM head stays float32.
        add_special_tokens: passed to the tokenizer (False for rendered chat templates, as generation does).

    Returns:
        One list of token log-probabilities per completion (empty for an empty completion).

    Raises:
        ValueError: a prompt tokenises to nothing (there is no position to predict the first token from).
    """
    import torch

    pairs = tokenize_prompt_completion(tokenizer, prompts, completions, add_special_tokens)
    if any(p.start == 0 and p.completion_ids for p in pairs):
        raise ValueError("completion_logprobs: a prompt tokenised to no tokens; nothing predicts the completion")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[list[float]] = []
    with inference_mode(model):
        for begin in range(0, len(pairs), batch_size):
            batch = pairs[begin:begin + batch_size]
            width = max(len(p.ids) for p in batch)
            keep = max(len(p.completion_ids) for p in batch) + 1
            ids = torch.tensor([[pad] * (width - len(p.ids)) + p.ids for p in batch], device=model.device)
            mask = torch.tensor([[0] * (width - len(p.ids)) + [1] * len(p.ids) for p in batch], device=model.device)
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            with inference_context(model, autocast_dtype), fp32_lm_head(model):
                logits = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                               logits_to_keep=keep).logits.float()
            logp = logits.log_softmax(-1)  # [B, keep, V]; row i's completion is its last n_i tokens
            for i, p in enumerate(batch):
                n = len(p.completion_ids)
                if n == 0:
                    out.append([])
                    continue
                target = torch.tensor(p.completion_ids, device=logp.device)
                out.append(logp[i, keep - n - 1:keep - 1].gather(-1, target[:, None]).squeeze(-1).tolist())
    return out
