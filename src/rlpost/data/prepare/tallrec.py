"""Build TALLRec train/valid/test JSON from a user's own raw MovieLens-100K or BookCrossing files.

MovieLens-100K's terms forbid redistribution, so rlpost ships this script instead of the data:

    python -m rlpost.data.prepare.tallrec prepare movielens --raw-dir ml-100k/ --out-dir data/tallrec/movie
    python -m rlpost.data.prepare.tallrec prepare bookcrossing --raw-dir BX-CSV-Dump/ --out-dir data/tallrec/book

Movie (TALLRec ``preprocess_movie.py``): per user, interactions sorted by timestamp are cut into sliding windows
of ``history`` (10) items plus the next item as target; like = rating > 3; the last ``max_records`` (10,000)
windows, in user order, are split 8:1:1 in order.
Book (TALLRec ``preprocess_book.py``, approximated): users with more than 3 explicit ratings are shuffled and split
8:1:1 by user; each user gives one sample (a seeded shuffle of their ratings, up to 10 history items + the last as
target); like = rating > 5. Implicit ratings (0) are dropped. The target keeps TALLRec's extra pair of quotes.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.errors import DataError
from rlpost.io import write_json

logger = logging.getLogger(__name__)

INSTRUCTION = ('Given the user\'s preference and unpreference, identify whether the user will like the target {kind} '
               'by answering "Yes." or "No.".')


def format_row(kind: str, history: Sequence[tuple[str, bool]], target: str, liked: bool,
               quote_history: bool = True) -> dict[str, str]:
    """One TALLRec row from (item text, liked) history pairs and a target item text.

    The target is always wrapped in quotes; history items only when ``quote_history`` (book items already read
    ``"<title>" written by <author>``, which gives TALLRec's doubled quotes around book targets).

    Example:
        >>> format_row("movie", [("A", True), ("B", False)], "C", True)["input"]
        'User Preference: "A"\\nUser Unpreference: "B"\\nWhether the user will like the target movie "C"?'
    """
    q = '"' if quote_history else ""
    pref = ", ".join(f"{q}{t}{q}" for t, ok in history if ok)
    unpref = ", ".join(f"{q}{t}{q}" for t, ok in history if not ok)
    text = (f"User Preference: {pref}\nUser Unpreference: {unpref}\n"
            f"Whether the user will like the target {kind} \"{target}\"?")
    return {"instruction": INSTRUCTION.format(kind=kind), "input": text, "output": "Yes." if liked else "No."}


def split_811(items: list[Any]) -> dict[str, list[Any]]:
    """Split a list 8:1:1 in order into train/valid/test.

    Example:
        >>> {k: len(v) for k, v in split_811(list(range(10))).items()}
        {'train': 8, 'valid': 1, 'test': 1}
    """
    a, b = int(len(items) * 0.8), int(len(items) * 0.9)
    return {"train": items[:a], "valid": items[a:b], "test": items[b:]}


def movielens_rows(raw_dir: Path, history: int = 10, threshold: int = 3, max_records: int = 10000) -> list[dict]:
    """TALLRec movie rows from ``u.data`` (tab-separated user, item, rating, time) and ``u.item`` (latin-1)."""
    titles = {}
    with open(need(raw_dir / "u.item"), encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("|")
            if len(parts) > 1:
                titles[parts[0]] = parts[1]
    per_user: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    with open(need(raw_dir / "u.data"), encoding="latin-1") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if len(parts) != 4:
                raise DataError(f"{raw_dir / 'u.data'}:{lineno}: expected 4 tab-separated fields")
            user, item, rating, ts = parts
            per_user[user].append((int(ts), item, int(rating)))
    rows = []
    for user in sorted(per_user, key=int):
        seq = sorted(per_user[user])
        for i in range(history, len(seq)):
            hist = [(titles[it], r > threshold) for _, it, r in seq[i - history:i]]
            rows.append(format_row("movie", hist, titles[seq[i][1]], seq[i][2] > threshold))
    return rows[-max_records:]


def bookcrossing_rows(raw_dir: Path, history: int = 10, threshold: int = 5, seed: int = 42) -> dict[str, list[dict]]:
    """TALLRec book rows per split from ``BX-Book-Ratings.csv`` and ``BX-Books.csv`` (';'-separated, latin-1)."""
    books = {r["ISBN"]: f'"{r["Book-Title"]}" written by {r["Book-Author"]}'
             for r in read_bx(need(raw_dir / "BX-Books.csv"))}
    per_user: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in read_bx(need(raw_dir / "BX-Book-Ratings.csv")):
        if r["ISBN"] in books and int(r["Book-Rating"]) > 0:
            per_user[r["User-ID"]].append((books[r["ISBN"]], int(r["Book-Rating"])))
    users = sorted(u for u, items in per_user.items() if len(items) > 3)
    rng = random.Random(seed)
    rng.shuffle(users)
    out: dict[str, list[dict]] = {}
    for split, split_users in split_811(users).items():
        out[split] = []
        for user in split_users:
            items = list(per_user[user])
            rng.shuffle(items)
            hist = [(t, r > threshold) for t, r in items[:-1][-history:]]
            target, rating = items[-1]
            out[split].append(format_row("book", hist, target, rating > threshold, quote_history=False))
    return out


def read_bx(path: Path) -> list[dict[str, str]]:
    """Read a BookCrossing CSV dump (``;`` separator, quoted, latin-1)."""
    with open(path, encoding="latin-1", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";", quotechar='"'))


def need(path: Path) -> Path:
    """Return ``path`` or raise a DataError naming the missing raw file."""
    if not path.is_file():
        raise DataError(f"{path}: raw file not found")
    return path


def write_splits(splits: dict[str, list[dict]], out_dir: Path) -> None:
    """Write ``<split>.json`` files in TALLRec's layout (a JSON list, indent=4)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        write_json(out_dir / f"{split}.json", rows, indent=4)
        logger.info("wrote %s (%d rows, %d Yes)", out_dir / f"{split}.json", len(rows),
                    sum(r["output"] == "Yes." for r in rows))


def main(argv: list[str]) -> int:
    """``prepare {movielens,bookcrossing} --raw-dir D --out-dir O``."""
    parser = argparse.ArgumentParser(prog="python -m rlpost.data.prepare.tallrec")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="build TALLRec JSON from raw MovieLens-100K / BookCrossing files")
    prep.add_argument("dataset", choices=["movielens", "bookcrossing"])
    prep.add_argument("--raw-dir", type=Path, required=True)
    prep.add_argument("--out-dir", type=Path, required=True)
    prep.add_argument("--history", type=int, default=10)
    prep.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.dataset == "movielens":
            splits = split_811(movielens_rows(args.raw_dir, args.history))
        else:
            splits = bookcrossing_rows(args.raw_dir, args.history, seed=args.seed)
        write_splits(splits, args.out_dir)
    except DataError as err:
        parser.exit(2, f"rlpost: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
