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


