"""Atomic JSON/JSONL writes and JSONL reads: the one home for how rlpost writes results and state.

A write goes to a temporary file in the target's folder, is flushed and fsynced, then renamed over the target
(``os.replace``), so a reader or a resumed run sees the old file or the new one, never half of one
(docs/ARCHITECTURE.md, ``io.py``).

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> write_jsonl(d / "rows.jsonl", [{"a": 1}, {"a": 2}])
>>> read_jsonl(d / "rows.jsonl")
[{'a': 1}, {'a': 2}]
>>> write_json(d / "m.json", {"b": 1, "a": 2}, sort_keys=True)
>>> (d / "m.json").read_text()
'{\\n  "a": 2,\\n  "b": 1\\n}'
>>> sorted(p.name for p in d.iterdir())  # no temporary file left behind
['m.json', 'rows.jsonl']
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder, fsync, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = False) -> None:
    """Write one JSON document atomically (indented, UTF-8)."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys))


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows as JSON lines atomically."""
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file written by :func:`write_jsonl` (blank lines skipped)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
