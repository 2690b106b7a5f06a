"""Whole weights for inference outside the DeepSpeed engine under ZeRO-3 (evaluation, base-model labelling, scoring).

Under ``launch=zero3`` the model is partitioned as it is loaded (transformers builds it inside ``deepspeed.zero.Init``
once the trainer args hold a ZeRO-3 config): every parameter is an empty placeholder and only the engine's forward
hooks gather the pieces, in lockstep on every rank. rlpost's own generation (held-out evaluation before and after
training, early-stopping validation, offline labels, yes/no scoring) runs outside the engine, on a per-rank shard of
the rows, so each rank makes a different number of forward passes. :func:`full_parameters` gathers the whole weights
on every rank once (``deepspeed.zero.GatheredParameters``) and suspends the engine's hooks (their collectives would
deadlock or re-partition the weights mid-generation) until the block ends, the way TRL's
``unwrap_model_for_generation`` does for its own generation. Without ZeRO-3 it does nothing.

It is a collective: every rank must enter it, as every rank evaluates. Models that only generate and never enter
an engine are loaded whole instead (:func:`unpartitioned_loading`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

_GATHERED: set[int] = set()  # ds_id of parameters gathered by an enclosing full_parameters


def partitioned_parameters(model: Any) -> list[Any]:
    """The ZeRO-3 parameters of ``model`` not already gathered by an enclosing :func:`full_parameters`.

    Example:
        >>> import torch
        >>> partitioned_parameters(torch.nn.Linear(2, 2))
        []
    """
    parameters = getattr(model, "parameters", None)  # scorers' test doubles and other non-modules: nothing to do
    if parameters is None:
        return []
    return [p for p in parameters() if hasattr(p, "ds_id") and p.ds_id not in _GATHERED]


def _from_deepspeed(fn: Any) -> bool:
    """Whether a hook function was defined in the deepspeed package (also through decorators)."""
    while fn is not None:
        if str(getattr(fn, "__module__", "") or "").startswith("deepspeed"):
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False


def _hook_closure_from_deepspeed(fn: Any) -> bool:
    """DeepSpeed wraps some hooks in decorators defined elsewhere (nvtx ranges): look inside their closures too."""
    if _from_deepspeed(fn):
        return True
    return any(_from_deepspeed(getattr(cell, "cell_contents", None)) for cell in (getattr(fn, "__closure__", None)
                                                                                   or ()))


@contextmanager
def _deepspeed_hooks_suspended(model: Any) -> Iterator[int]:
    """Take the engine's forward (pre-)hooks off every submodule; put them back, in their order, on exit."""
    saved = []
    for module in model.modules():
        for hooks in (module._forward_pre_hooks, module._forward_hooks):
            ours = [key for key, fn in hooks.items() if _hook_closure_from_deepspeed(fn)]
            if ours:
                saved.append((hooks, dict(hooks)))
                for key in ours:
                    del hooks[key]
    try:
        yield len(saved)
    finally:
        for hooks, before in saved:
            hooks.clear()
            hooks.update(before)


@contextmanager
def full_parameters(model: Any, modify: bool = False) -> Iterator[Any]:
    """Inside the block, ``model``'s ZeRO-3 parameters are whole on every rank and forward runs without the engine.

    Args:
        model: the policy (plain or the trainer's unwrapped model); anything else passes through untouched.
        modify: the block changes the weights (e.g. restores the best ones): rank 0's values are kept and
            re-partitioned on exit. Otherwise changes are discarded.

    Nested uses (an evaluation inside a callback that already gathered) gather nothing more.
    """
    params = partitioned_parameters(model)
    if not params:
        yield model
        return
    import deepspeed

    ids = {p.ds_id for p in params}
    with deepspeed.zero.GatheredParameters(params, modifier_rank=0 if modify else None):
        _GATHERED.update(ids)
        try:
            with _deepspeed_hooks_suspended(model) as n_modules:
                logger.debug("ZeRO-3: gathered %d parameters, engine hooks off on %d modules", len(params), n_modules)
                yield model
        finally:
            _GATHERED.difference_update(ids)


@contextmanager
def unpartitioned_loading() -> Iterator[None]:
    """Load models whole inside the block, even while a ZeRO-3 trainer config is alive.

    transformers builds every model inside ``deepspeed.zero.Init`` while a ZeRO-3 ``TrainingArguments`` (or the
    accelerate state holding its config) exists. A generation-only model never enters the engine: DivPO's generate
    and evaluate stages run it on rank 0 alone, where gathering partitioned weights would wait for the other ranks.
    """
    from transformers.integrations import deepspeed as hf_deepspeed

    saved = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = saved
