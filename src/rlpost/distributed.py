"""Thin helpers over torch.distributed that also work in a single plain process."""

from __future__ import annotations

import os
from typing import Any


def _dist() -> Any:
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def rank() -> int:
    """Global rank (0 when not distributed). Reads RANK before the process group exists."""
    d = _dist()
    return d.get_rank() if d else int(os.environ.get("RANK", 0))


def world_size() -> int:
    """World size (1 when not distributed). Reads WORLD_SIZE before the process group exists."""
    d = _dist()
    return d.get_world_size() if d else int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    """True on rank 0."""
    return rank() == 0


def all_gather_object(obj: Any) -> list[Any]:
    """Gather a picklable object from every rank; ``[obj]`` when not distributed."""
    d = _dist()
    if d is None or d.get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * d.get_world_size()
    d.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Broadcast a picklable object from ``src`` to every rank."""
    d = _dist()
    if d is None or d.get_world_size() == 1:
        return obj
    box = [obj]
    d.broadcast_object_list(box, src=src)
    return box[0]


def barrier() -> None:
    """Synchronise all ranks (no-op when not distributed)."""
    d = _dist()
    if d is not None:
        d.barrier()




def shutdown() -> None:
    """End of a successful run: wait for every rank, then destroy the process group while Python is still whole.

    Left to interpreter exit, gloo's worker threads can still hold work objects with tensors whose release then
    needs the GIL of a half-finalised interpreter: the rank aborts (SIGABRT, "terminate called without an active
    exception") after the run has finished and saved, and torchrun reports the whole run failed (pytorch issue
    190489). Not called on the error path, where waiting for the other ranks could hang (rlpost.cli).
    """
    d = _dist()
    if d is None:
        return
    if d.get_world_size() > 1:
        d.barrier()
    d.destroy_process_group()
