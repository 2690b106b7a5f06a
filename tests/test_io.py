"""rlpost.io: readers name the file and line; a crash mid-write leaves the old file (or directory) intact.

That no other module renames, makes temporary files or parses JSON files is rule 6 of tests/test_architecture.py.
"""

import os
from pathlib import Path

import pytest

import rlpost
from rlpost import io
from rlpost.errors import DataError

SRC = Path(rlpost.__file__).parent


def crash_on_replace(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """Make the ``after+1``-th ``os.replace`` raise, as a kill at that rename would leave things."""
    real, calls = os.replace, []

    def replace(a, b):
        calls.append(1)
        if len(calls) == after + 1:
            raise OSError("simulated crash at rename")
        return real(a, b)

    monkeypatch.setattr(io.os, "replace", replace)


def crash_on_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd):
        raise OSError("simulated crash at fsync")

    monkeypatch.setattr(io.os, "fsync", fsync)


WRITERS = {
    "text": lambda p: io.write_text(p, "new"),
    "json": lambda p: io.write_json(p, {"new": 1}),
    "jsonl": lambda p: io.write_jsonl(p, [{"new": 1}]),
    "file": lambda p: io.write_file(p, lambda tmp: tmp.write_bytes(b"new")),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("crash", [crash_on_replace, crash_on_fsync])
def test_crash_mid_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind, crash) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    crash(monkeypatch)
    with pytest.raises(OSError, match="simulated crash"):
        WRITERS[kind](target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_writers_replace_the_file(tmp_path: Path, kind) -> None:
    target = tmp_path / "sub" / "state.json"
    WRITERS[kind](target)
    assert "new" in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def save_dir(content: str):
    def save(tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "weights.bin").write_text(content)
    return save


@pytest.mark.parametrize("after", [0, 1])  # the rename of the old copy aside, or the rename of the new one in
@pytest.mark.parametrize("shared", [False, True])
def test_crash_mid_write_dir_keeps_the_old_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after,
                                                     shared) -> None:
    target = tmp_path / "adapter_best"
    io.write_dir(target, save_dir("old"))
    crash_on_replace(monkeypatch, after=after)
    with pytest.raises(OSError, match="simulated crash"):
        io.write_dir(target, save_dir("new"), shared=shared)
    assert (target / "weights.bin").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter_best"]


def test_crash_in_save_or_fsync_keeps_the_old_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "policy"
    io.write_dir(target, save_dir("old"))

    def half_save(tmp: Path) -> None:
        save_dir("new")(tmp)
        raise RuntimeError("killed while saving")

    with pytest.raises(RuntimeError):
        io.write_dir(target, half_save)
    crash_on_fsync(monkeypatch)
    with pytest.raises(OSError, match="simulated crash"):
        io.write_dir(target, save_dir("new"))
    assert (target / "weights.bin").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["policy"]


def test_write_dir_replaces_clears_leftovers_and_recovers_a_kill_between_renames(tmp_path: Path) -> None:
    target = tmp_path / "policy"
    (tmp_path / "policy.tmp").mkdir()  # left by a run killed while saving
    io.write_dir(target, save_dir("v1"))
    target.rename(tmp_path / "policy.old")  # killed after moving the old copy aside, before the new one came in
    assert io.read_json(tmp_path / "nothing.json", default=None) is None
    io.write_dir(target, save_dir("v2"))
    assert (target / "weights.bin").read_text() == "v2"
    io.write_dir(target, save_dir("v3"), replace=False, shared=True)  # first writer wins
    assert (target / "weights.bin").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy"]


@pytest.mark.parametrize(("text", "suffix", "message"), [
    ('{"a": 1}\n\n{"a": 2,\n', ".jsonl", r"f\.jsonl:3: not valid JSON"),
    ('{"a": 1}\n[1]\n', ".jsonl", r"f\.jsonl:2: expected a JSON object, got list"),
    ('{\n  "a": 1,\n  oops\n}', ".json", r"f\.json:3: not valid JSON"),
])
def test_read_errors_name_file_and_line(tmp_path: Path, text, suffix, message) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        io.read_records(path)


def test_read_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"none\.json: file not found"):
        io.read_json(tmp_path / "none.json")
    assert io.read_json(tmp_path / "none.json", default={}) == {}


def test_json_lines_keep_unicode_line_separators_inside_strings(tmp_path: Path) -> None:
    # json.dumps(ensure_ascii=False) leaves U+2028 unescaped; str.splitlines() would cut the line there
    rows = [{"input": "a\u2028b\x1cc", "output": "Yes."}, {"input": "d", "output": "No."}]
    path = tmp_path / "rows.jsonl"
    io.write_jsonl(path, rows)
    assert io.read_jsonl(path) == rows
    assert io.read_json_or_lines(path) == rows
    io.write_json(path.with_suffix(".json"), rows)
    assert io.read_json_or_lines(path.with_suffix(".json")) == rows
