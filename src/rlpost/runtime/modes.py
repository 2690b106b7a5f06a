"""Inference mode, then restore: the one place that puts a model in eval mode or sets a tokenizer's sides.

Evaluation, scoring and rollouts during training borrow the trainer's model and tokenizer; whatever they change
(train mode, padding side, truncation side, torch's RNG) is set back when they finish, exception or not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rlpost.runtime.hardware import autocast_for


@contextlib.contextmanager
def inference_mode(model: Any = None, tokenizer: Any = None, padding_side: str | None = None,
                   truncation_side: str | None = None, autocast_dtype: str | None = None) -> Iterator[None]:
    """``model.eval()`` + ``torch.no_grad()`` (+ autocast) for the block; restores train mode and the tokenizer.

    Args:
        model: put in eval mode (no dropout; gradient checkpointing would disable the KV cache) and set back to
            the mode it had; None leaves no model to switch.
        tokenizer: its ``padding_side`` / ``truncation_side`` are set for the block when given, then restored.
        autocast_dtype: a resolved dtype name (:func:`rlpost.runtime.hardware.resolve_dtype`): autocast of an
            fp32 model to it (:func:`rlpost.runtime.hardware.autocast_for`); None = no autocast.

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(2, 1)
        >>> with inference_mode(net):
        ...     net.training, torch.is_grad_enabled()
        (False, False)
        >>> net.training, torch.is_grad_enabled()
        (True, True)
    """
    import torch

    was_training = model.training if model is not None else None
    sides = (tokenizer.padding_side, tokenizer.truncation_side) if tokenizer is not None else None
    try:
        if model is not None:
            model.eval()
        if tokenizer is not None:
            tokenizer.padding_side = padding_side or tokenizer.padding_side
            tokenizer.truncation_side = truncation_side or tokenizer.truncation_side
        autocast = autocast_for(model, autocast_dtype) if autocast_dtype else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            yield
    finally:
        if sides is not None:
            tokenizer.padding_side, tokenizer.truncation_side = sides
        if was_training is not None:
            model.train(was_training)


@contextlib.contextmanager
def private_rng(seed: int) -> Iterator[None]:
    """Seed torch's RNG (CPU and every CUDA device) for the block, then restore the caller's state exactly.

    Sampling inside is reproducible per ``seed``, and the caller's random stream continues as if the block never
    ran: an evaluation during training must not overwrite the per-rank seeds TRL gives each process (with equal
    states, the ranks would sample identical completions for the halves of a group split across them).

    Example:
        >>> import torch
        >>> before = torch.get_rng_state()
        >>> with private_rng(3):
        ...     a = torch.rand(2)
        >>> with private_rng(3):
        ...     b = torch.rand(2)
        >>> torch.equal(a, b), torch.equal(torch.get_rng_state(), before)
        (True, True)
    """
    import torch

    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
