"""TALLRec reader, bad rows, empty histories, few-shot sampler, split building and the raw-data prepare command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlpost.data.prepare.tallrec import bookcrossing_rows, main, movielens_rows
from rlpost.data.sources.tallrec import build_tallrec_splits, load_tallrec, sample_few_shot
from rlpost.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tallrec"


def write(path: Path, rows: list) -> Path:
    path.write_text(json.dumps(rows, indent=4))
    return path


def test_reader_parses_labels_and_keeps_fields():
    rows = load_tallrec(ASSETS / "train.json")
    assert len(rows) == 12
    assert {r["label"] for r in rows} == {0, 1}
    assert all(r["label"] == (r["output"] == "Yes.") for r in rows)
    assert rows[0]["instruction"].startswith("Given the user's preference")


def test_bad_output_names_file_and_row():
    with pytest.raises(DataError, match=r"bad_output\.json: row 2 has output='Maybe\.'"):
        load_tallrec(ASSETS / "bad_output.json")


@pytest.mark.parametrize("row", [{"input": "x", "output": "Yes."}, ["not", "an", "object"]])
def test_missing_keys_are_reported(tmp_path, row):
    with pytest.raises(DataError, match="row 0 must be an object"):
        load_tallrec(write(tmp_path / "d.json", [row]))


def test_missing_file_and_jsonl(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_tallrec(tmp_path / "nope.json")
    (tmp_path / "d.jsonl").write_text('{"instruction": "i", "input": "x", "output": "no"}\n')
    assert load_tallrec(tmp_path / "d.jsonl")[0]["label"] == 0


def test_empty_history_keep_drop_error():
    rows = json.loads((ASSETS / "test.json").read_text())
    n_empty = sum("Preference: \n" in r["input"] for r in rows)
    assert n_empty > 0
    assert len(load_tallrec(ASSETS / "test.json")) == len(rows)
    assert len(load_tallrec(ASSETS / "test.json", empty_history="drop")) == len(rows) - n_empty
    with pytest.raises(DataError, match="empty preference/unpreference"):
        load_tallrec(ASSETS / "test.json", empty_history="error")


def test_sampler_is_seeded_balanced_and_checks_size():
    rows = load_tallrec(ASSETS / "train.json")
    a, b = sample_few_shot(rows, 6, seed=1), sample_few_shot(rows, 6, seed=1)
    assert a == b and a != sample_few_shot(rows, 6, seed=2)
    balanced = sample_few_shot(rows, 8, seed=0, balanced=True)
    assert sum(r["label"] for r in balanced) == 4
    with pytest.raises(DataError, match="k=13 must be between 1 and the number of rows \\(12\\)"):
        sample_few_shot(rows, 13, seed=0)
    with pytest.raises(DataError, match="balanced few-shot k=6 needs 3 Yes and 3 No rows; data has 6/1"):
        sample_few_shot([r for r in rows if r["label"]] + rows[1:2], 6, seed=0, balanced=True)


def test_splits_remove_training_rows_from_valid_when_files_coincide():
    path = str(ASSETS / "train.json")
    splits = build_tallrec_splits(path, path, str(ASSETS / "test.json"), num_train=4, seed=0, test_limit=5)
    train_inputs = {r["input"] for r in splits["train"]}
    assert len(splits["valid"]) == 8 and not train_inputs & {r["input"] for r in splits["valid"]}
    assert len(splits["test"]) == 5


def make_movielens(raw: Path, users: int = 3, per_user: int = 14) -> None:
    raw.mkdir()
    (raw / "u.item").write_text("\n".join(f"{i}|Film {i} (1990)|01-Jan-1990||url|0" for i in range(1, 31)),
                                encoding="latin-1")
    lines = [f"{u}\t{(u * 7 + j) % 30 + 1}\t{1 + (u + j) % 5}\t{1000 + j}" for u in range(1, users + 1)
             for j in range(per_user)]
    (raw / "u.data").write_text("\n".join(lines))


def test_prepare_movielens_sliding_windows(tmp_path):
    make_movielens(tmp_path / "ml")
    rows = movielens_rows(tmp_path / "ml")
    assert len(rows) == 3 * (14 - 10)
    first = rows[0]["input"]
    assert first.count('"Film') == 11 and first.endswith('"?') and "target movie" in first
    assert rows[0]["output"] in ("Yes.", "No.")
    assert main(["prepare", "movielens", "--raw-dir", str(tmp_path / "ml"), "--out-dir", str(tmp_path / "out")]) == 0
    sizes = {s: len(load_tallrec(tmp_path / "out" / f"{s}.json")) for s in ("train", "valid", "test")}
    assert sum(sizes.values()) == 12 and sizes["train"] == 9


def test_prepare_bookcrossing(tmp_path):
    raw = tmp_path / "bx"
    raw.mkdir()
    books = ['"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication"'] + [f'"{i}";"Book {i}";"Author {i}";"2000"'
                                                                           for i in range(20)]
    (raw / "BX-Books.csv").write_text("\n".join(books), encoding="latin-1")
    ratings = ['"User-ID";"ISBN";"Book-Rating"'] + [f'"{u}";"{(u + j) % 20}";"{(u * j) % 11}"' for u in range(20)
                                                    for j in range(6)]
    (raw / "BX-Book-Ratings.csv").write_text("\n".join(ratings), encoding="latin-1")
    splits = bookcrossing_rows(raw)
    total = sum(len(v) for v in splits.values())
    assert 0 < total <= 20 and len(splits["train"]) >= len(splits["test"])
    row = splits["train"][0]
    assert '" written by Author' in row["input"] and 'target book ""Book' in row["input"]


def test_prepare_missing_raw_file(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["prepare", "movielens", "--raw-dir", str(tmp_path), "--out-dir", str(tmp_path / "o")])
    assert err.value.code == 2
