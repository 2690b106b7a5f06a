"""The one reader and the one atomic writer of rlpost's data, result and state files (docs/ARCHITECTURE.md, ``io.py``).

Reading: :func:`read_json`, :func:`read_jsonl`, :func:`read_json_or_lines` and :func:`read_records` (JSONL, JSON,
CSV, Parquet rows); bad JSON raises :class:`rlpost.errors.DataError` naming the file and line.

Writing: every write goes to a temporary path next to the target, is flushed and fsynced, then renamed over the
target (``os.replace``), so a reader or a resumed run sees the old file (or directory) or the new one, never half of
one: :func:`write_text`, :func:`write_json`, :func:`write_jsonl`, :func:`write_file` (any library's ``save(path)``)
and :func:`write_dir` (a whole directory, swapped in).

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> write_jsonl(d / "rows.jsonl", [{"a": 1}, {"a": 2}])
>>> read_jsonl(d / "rows.jsonl")
[{'a': 1}, {'a': 2}]
>>> write_json(d / "m.json", {"b": 1, "a": 2}, sort_keys=True)
>>> (d / "m.json").read_text()
'{\\n  "a": 2,\\n  "b": 1\\n}'
>>> read_json(d / "m.json")
{'a': 2, 'b': 1}
>>> read_json(d / "none.json", default={})
{}
>>> _ = write_dir(d / "out", lambda tmp: (tmp.mkdir(), (tmp / "f.txt").write_text("x")))
>>> sorted(p.name for p in d.iterdir())  # no temporary file left behind
['m.json', 'out', 'rows.jsonl']
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rlpost.errors import DataError

_MISSING: Any = object()


# ---- reading ---------------------------------------------------------------------------------------------------


def parse_json(text: str, origin: str | Path, lineno: int | None = None) -> Any:
    """Parse one JSON document; a DataError names ``origin`` and the line (``lineno`` for one line of JSONL).

    Example:
        >>> parse_json('{"a": [1,', "f.json")
        Traceback (most recent call last):
        ...
        rlpost.errors.DataError: f.json:1: not valid JSON (Expecting value)
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{origin}:{lineno or err.lineno}: not valid JSON ({err.msg})") from None


def read_json(path: str | Path, default: Any = _MISSING) -> Any:
    """One JSON document; ``default`` when the file does not exist (without it a missing file raises DataError)."""
    path = Path(path)
    if not path.is_file():
        if default is not _MISSING:
            return default
        raise DataError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason})") from None
    return parse_json(text, path)


def parse_lines(text: str, origin: str | Path) -> list[dict[str, Any]]:
    """JSON Lines ``text`` as objects (blank lines skipped); errors name ``origin`` and the line."""
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a JSON string
        if not line.strip():
            continue
        row = parse_json(line, origin, lineno)
        if not isinstance(row, dict):
            raise DataError(f"{origin}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file (one object a line, blank lines skipped); errors name the file and line."""
    return parse_lines(Path(path).read_text(encoding="utf-8"), path)


def read_json_or_lines(path: str | Path) -> list[Any]:
    """A JSON list when the file starts with ``[`` (TALLRec's layout), else JSON Lines."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_json(text, path) if text.lstrip().startswith("[") else parse_lines(text, path)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read JSONL / JSON / CSV / Parquet rows as dicts, with errors that name the file and line.

    A ``.json`` file holds a list of objects or ``{"data": [...]}``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data.path={path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = read_jsonl(path)
    elif suffix == ".json":
        data = read_json(path)
        rows = data.get("data", data) if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DataError(f"{path}: expected a JSON list of objects (or {{'data': [...]}})")
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        raise DataError(f"data.path={path}: unsupported extension {suffix!r} (use .jsonl, .json, .csv, .parquet)")
    if not rows:
        raise DataError(f"data.path={path}: file has no rows")
    return rows


# ---- atomic writing --------------------------------------------------------------------------------------------


def _fsync_tree(path: Path) -> None:
    """fsync ``path`` (a file, or every file under a directory and the directories themselves)."""
    for p in [path] if path.is_file() else [path, *path.rglob("*")]:
        if p.is_symlink():
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError:
            if not p.is_dir():  # some filesystems refuse fsync on a directory; a file's failure is real
                raise
        finally:
            os.close(fd)


def write_file(path: str | Path, save: Callable[[Path], Any]) -> Path:
    """Atomically create or replace file ``path`` with what ``save(tmp_path)`` writes (any library's writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        save(tmp)
        _fsync_tree(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = False, indent: int | None = 2) -> None:
    """Write one JSON document atomically (indented, UTF-8)."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, sort_keys=sort_keys))


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows as JSON lines atomically."""
    write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_dir(path: str | Path, save: Callable[[Path], Any], *, replace: bool = True, fsync: bool = True,
              shared: bool = False) -> Path:
    """Build a directory with ``save(tmp_dir)`` (``tmp_dir`` does not exist yet), fsync it, then swap it in.

    The temporary directory is ``<name>.tmp`` next to ``path``; a leftover of a killed run is cleared first, so there
    is one writer per target at a time. ``shared=True`` is for targets several processes may build at once (a
    cache): each builds in its own ``<name>.tmp-XXXX/`` folder. With ``replace=False`` an existing ``path`` is kept
    and the new copy discarded (the first writer wins). A replaced ``path`` is missing only between two renames (the
    old copy is renamed to ``<name>.old`` first). ``fsync=False`` skips the flush to disk for transient hand-offs
    that are never read after a crash (still renamed into place whole).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if shared:
        scratch = Path(tempfile.mkdtemp(prefix=path.name + ".tmp-", dir=path.parent))
        tmp = scratch / path.name
    else:
        scratch = tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        save(tmp)
        if fsync:
            _fsync_tree(tmp)
        if not (path.exists() and not replace):
            _swap_dir(tmp, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path


def _swap_dir(src: Path, dst: Path) -> None:
    """Move directory ``src`` to ``dst``, replacing it; ``dst`` is missing only between two renames.

    A failed second rename puts the old copy back; one killed between the two renames is put back by the next call.
    """
    old = dst.with_name(dst.name + ".old")
    if old.is_dir() and not dst.exists():
        os.replace(old, dst)
    shutil.rmtree(old, ignore_errors=True)
    had = dst.exists()
    if had:
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except BaseException:
        if had:
            os.replace(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def copy_dir(src: Path, dst: Path) -> None:
    """Copy a directory, hard-linking files where possible (for files that are never rewritten in place)."""
    def link_or_copy(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=link_or_copy)
