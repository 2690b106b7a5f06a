"""A sampling decode loop over an HF causal LM that shares each prompt's prefill and drops finished rows.

Why not ``model.generate``: on a CPU the whole GRPO step is generation, and ``generate`` (a) prefills every prompt
``n`` times when ``num_return_sequences=n`` and (b) keeps finished sequences in the batch until the longest one stops,
so with natural stopping about half the decode slots are padding (docs/performance.md).
Here each prompt is prefilled once, its KV cache rows are repeated to its ``n`` samples
(``DynamicCache.batch_repeat_interleave``), and rows that emitted a stop token are removed from the cache
(``DynamicCache.batch_select_indices``) so they stop costing compute. Sampling follows ``generate``'s warper order
(temperature -> top-k -> top-p -> multinomial) on float32 logits, so greedy decoding matches ``generate``
token for token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlpost.rollout.sampling import SamplingSettings


@dataclass
class DecodeResult:
    """Generated tokens for ``P x n`` rows in prompt-major order (row ``p * n + j`` = sample ``j`` of prompt ``p``).

    ``tokens[r]`` includes the stop token when the row stopped on one (``stopped[r]``); ``token_logprobs[r]`` are the
    log-probabilities of those tokens under the sampling distribution (after temperature/top-k/top-p).
    """

    tokens: list[list[int]]
    token_logprobs: list[list[float]]
    stopped: list[bool]
    # decoder forward passes over rows (all live rows at each step), for benchmarks
    row_steps: int = 0


def warp_logits(logits: Any, params: SamplingSettings) -> Any:
    """Apply temperature, top-k and top-p like transformers' warpers (float32 ``[B, V]`` in and out).

    Example:
        >>> import torch
        >>> out = warp_logits(torch.tensor([[0.0, 1.0, 2.0]]), SamplingSettings(top_k=2, temperature=0.5))
        >>> out.tolist()
        [[-inf, 2.0, 4.0]]
    """
    import torch

    if params.greedy:
        return logits
    if params.temperature != 1.0:
        logits = logits / params.temperature
    if params.top_k:
        kth = torch.topk(logits, min(params.top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=False)
        remove = sorted_logits.softmax(-1).cumsum(-1) <= (1 - params.top_p)
        remove[..., -1:] = False  # keep at least one token
        logits = logits.masked_fill(remove.scatter(1, sorted_idx, remove), float("-inf"))
    return logits


def select_next(logits: Any, params: SamplingSettings, generator: Any = None) -> tuple[Any, Any]:
    """Pick the next token per row; returns ``(tokens [B], logprobs [B])`` under the warped distribution."""
    import torch

    warped = warp_logits(logits.float(), params)
    if params.greedy:
        tokens = warped.argmax(-1)
    else:
        tokens = torch.multinomial(warped.softmax(-1), 1, generator=generator).squeeze(1)
    logp = warped.log_softmax(-1).gather(1, tokens[:, None]).squeeze(1)
    return tokens, logp


def decode(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    params: SamplingSettings,
    stop_ids: list[int],
    generator: Any = None,
) -> DecodeResult:
    """Sample ``params.n`` continuations of each left-padded prompt row with a shared prefill.

    Args:
        model: an HF causal LM accepting ``past_key_values``, ``position_ids`` and ``logits_to_keep``.
        input_ids: ``[P, L]`` left-padded prompt ids.
        attention_mask: ``[P, L]`` (0 on the left padding).
        params: sampling settings (``n``, ``max_new_tokens``, ``greedy``, ``temperature``, ``top_k``, ``top_p``).
        stop_ids: token ids that end a row (eos ids, pad id).
        generator: optional ``torch.Generator`` for sampling.

    Returns:
        A :class:`DecodeResult` with ``P * n`` rows.
    """
    import torch
    from transformers import DynamicCache

    n, steps = params.n, params.max_new_tokens
    rows = input_ids.shape[0] * n
    out_tok = torch.full((rows, steps), -1, dtype=torch.long)
    out_logp = torch.zeros((rows, steps), dtype=torch.float32)
    stopped = torch.zeros(rows, dtype=torch.bool)
    stop = torch.tensor(sorted(set(stop_ids)), dtype=torch.long, device=input_ids.device)
    cache = DynamicCache(config=model.config)
    mask = attention_mask.long()
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
    logits = model(input_ids=input_ids, attention_mask=mask, position_ids=pos, past_key_values=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1]  # [P, V]
    if n > 1:  # prefix sharing: one prefill per prompt, cache rows repeated to its n samples
        cache.batch_repeat_interleave(n)
        logits, mask = logits.repeat_interleave(n, 0), mask.repeat_interleave(n, 0)
    pos = pos[:, -1].repeat_interleave(n, 0)  # [B]
    live = torch.arange(rows, device=input_ids.device)  # original row of each cache row
    row_steps = 0
    for t in range(steps):
        tokens, logp = select_next(logits, params, generator)
        live_cpu = live.cpu()
        out_tok[live_cpu, t], out_logp[live_cpu, t] = tokens.cpu(), logp.float().cpu()
        done = torch.isin(tokens, stop)
        stopped[live_cpu[done.cpu()]] = True
        if t == steps - 1 or bool(done.all()):
            break
        if bool(done.any()):  # finished rows leave the batch: they cost nothing from here on
            keep = (~done).nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            live, tokens, mask, pos = live[keep], tokens[keep], mask[keep], pos[keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        pos = pos + 1
        row_steps += int(live.shape[0])
        logits = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=pos[:, None],
                       past_key_values=cache, use_cache=True).logits[:, -1]
    return _to_result(out_tok, out_logp, stopped, row_steps)


def _to_result(out_tok: Any, out_logp: Any, stopped: Any, row_steps: int) -> DecodeResult:
    tokens, logps = [], []
    for tok_row, lp_row in zip(out_tok.tolist(), out_logp.tolist(), strict=True):
        length = next((i for i, tid in enumerate(tok_row) if tid < 0), len(tok_row))
        tokens.append(tok_row[:length])
        logps.append(lp_row[:length])
    return DecodeResult(tokens=tokens, token_logprobs=logps, stopped=stopped.tolist(), row_steps=row_steps)
