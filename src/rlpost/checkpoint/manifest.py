"""The file list a checkpoint's commit marker records, and the check that the checkpoint still matches it.

A committed checkpoint can still go bad later: a copy to another disk cut short, a file truncated by a full disk on
a network filesystem, a user deleting a shard. Before resuming, rlpost compares the newest committed checkpoint
with the sizes recorded at commit time (and the sha256 of its small JSON files, e.g. ``trainer_state.json``), so a
damaged checkpoint gives one line naming the file instead of a traceback from deep inside ``torch.load``.
Large files are not hashed: reading tens of GiB on every start costs more than a truncation check is worth.

No transformers import here: :mod:`rlpost.checkpoint.resume` reads markers before any model is built.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from rlpost.errors import DataError
from rlpost.io import read_json

COMPLETE_MARKER = "rlpost_complete.json"  # same name as rlpost.checkpoint.commit.COMPLETE_MARKER
HASH_MAX_BYTES = 1 << 20  # JSON files up to this size are hashed too
_CKPT = re.compile(r"^checkpoint-(\d+)$")


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``checkpoint-N`` directory under ``output_dir``, oldest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _CKPT.match(p.name)) and p.is_dir())


def checkpoint_step(path: Path) -> int:
    """The step N of a ``checkpoint-N`` directory."""
    return int(_CKPT.match(Path(path).name).group(1))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(checkpoint: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size": bytes[, "sha256": hex]}}`` of every file in ``checkpoint`` but the marker."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in Path(checkpoint).rglob("*") if p.is_file()):
        rel = path.relative_to(checkpoint).as_posix()
        if rel.startswith(COMPLETE_MARKER):  # the marker itself and its temporary file
            continue
        entry: dict[str, Any] = {"size": path.stat().st_size}
        if path.suffix == ".json" and entry["size"] <= HASH_MAX_BYTES:
            entry["sha256"] = file_sha256(path)
        files[rel] = entry
    return files


def find_manifest_problem(checkpoint: Path, files: dict[str, dict[str, Any]]) -> str | None:
    """The first file of ``files`` that is missing or differs in ``checkpoint`` (as a phrase), or None.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "model.bin").write_bytes(b"1234")
        >>> find_manifest_problem(d, {"model.bin": {"size": 4}}) is None
        True
        >>> find_manifest_problem(d, {"model.bin": {"size": 8}, "optimizer.pt": {"size": 1}})
        'model.bin has 4 bytes, 8 when committed (truncated or overwritten)'
    """
    for rel, entry in files.items():
        path = Path(checkpoint) / rel
        if not path.is_file():
            return f"{rel} is missing"
        size = path.stat().st_size
        if size != entry["size"]:
            return f"{rel} has {size} bytes, {entry['size']} when committed (truncated or overwritten)"
        if "sha256" in entry and file_sha256(path) != entry["sha256"]:
            return f"{rel} differs from the committed file (sha256 mismatch)"
    return None


def read_marker(checkpoint: Path) -> dict[str, Any]:
    """The commit marker of ``checkpoint`` as a dict.

    Raises:
        ValueError: the marker is not a JSON object (truncated, overwritten, not JSON).
    """
    try:
        marker = read_json(Path(checkpoint) / COMPLETE_MARKER)
    except DataError as err:
        raise ValueError(f"{COMPLETE_MARKER} is not valid JSON ({err})") from err
    if not isinstance(marker, dict):
        raise ValueError(f"{COMPLETE_MARKER} is not a JSON object")
    return marker


def find_checkpoint_problem(checkpoint: Path) -> str | None:
    """Why a committed checkpoint cannot be resumed (unreadable marker, file missing/changed), or None.

    Markers written before the file list existed (no ``files`` key) are accepted as they are.
    """
    try:
        marker = read_marker(checkpoint)
    except ValueError as err:
        return str(err)
    files = marker.get("files")
    return None if files is None else find_manifest_problem(checkpoint, files)
