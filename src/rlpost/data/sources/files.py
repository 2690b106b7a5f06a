"""Dataset loaders returning ``datasets.Dataset`` with canonical columns ``prompt_id``, ``question``, ``answer``.

Every loader validates its input and raises :class:`rlpost.errors.DataError` naming the file and line.
Extra columns (``op``, ``level``...) are kept: rewards and metrics can read them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from rlpost.errors import DataError
from rlpost.io import read_records

# Columns read as booleans at load time (data.bool_columns); ``labeled`` marks gold-labelled rows for
# reward=self_consistency. CSV cells and JSON strings such as "False" are truthy in Python, so they are parsed here.
BOOL_COLUMNS: tuple[str, ...] = ("labeled",)
_TRUE = frozenset({"true", "yes", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "n", "f", "0", ""})


def parse_bool(value: Any, where: str) -> bool:
    """Read a boolean cell strictly: a bool, 0/1, or true/false, yes/no, y/n, t/f, 1/0 in any case; missing or
    empty is False. Anything else raises DataError naming ``where`` (file, row and column).

    Example:
        >>> [parse_bool(v, "x") for v in (True, "False", " YES ", "0", 1, None, "")]
        [True, False, True, False, True, False, False]
        >>> parse_bool("maybe", "f.csv: row 3, column 'labeled'")
        Traceback (most recent call last):
        ...
        rlpost.errors.DataError: f.csv: row 3, column 'labeled': 'maybe' is not a boolean (true/false, yes/no, 1/0)
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DataError(f"{where}: {value!r} is not a boolean (true/false, yes/no, 1/0)")


def stable_prompt_id(question: str) -> str:
    """A short id derived from the question text, stable across runs and processes.

    Example:
        >>> stable_prompt_id("What is 2 + 2?")
        'q-58bf025cafcc'
    """
    return "q-" + hashlib.sha1(question.encode()).hexdigest()[:12]


def normalise_rows(
    rows: list[dict[str, Any]],
    origin: str,
    question_field: str = "question",
    answer_field: str | None = "answer",
    answer_parser: str = "none",
    prompt_id_field: str | None = None,
    bool_columns: Sequence[str] = BOOL_COLUMNS,
) -> Any:
    """Map raw rows to canonical columns; ``answer_parser`` turns a worked solution into the gold answer.

    Columns in ``bool_columns`` are parsed with :func:`parse_bool` (present in any row: present in all, as bools).
    """
    from datasets import Dataset

    from rlpost.text.answers import extractor

    parse_gold = extractor(answer_parser, "data.answer_parser")
    out = []
    flags = [c for c in bool_columns if any(c in row for row in rows)]
    for i, row in enumerate(rows, 1):
        if question_field not in row:
            raise DataError(f"{origin}: row {i} has no {question_field!r} field (data.question_field)")
        question = str(row[question_field])
        answer = row.get(answer_field) if answer_field else None
        if answer is not None and answer != "":
            answer = parse_gold(str(answer))
            if answer is None:
                raise DataError(f"{origin}: row {i}: cannot parse gold answer with answer_parser={answer_parser}")
        else:
            answer = None
        pid = str(row[prompt_id_field]) if prompt_id_field and row.get(prompt_id_field) else stable_prompt_id(question)
        extra = {
            k: v for k, v in row.items() if k not in (question_field, answer_field, "prompt_id", "question", "answer")
        }
        extra = {k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool))}
        extra.update({c: parse_bool(row.get(c), f"{origin}: row {i}, column {c!r}") for c in flags})
        out.append({"prompt_id": pid, "question": question, "answer": answer, **extra})
    return Dataset.from_list(out)


def load_file(
    path: str,
    question_field: str = "question",
    answer_field: str | None = "answer",
    answer_parser: str = "none",
    prompt_id_field: str | None = None,
    limit: int | None = None,
    bool_columns: Sequence[str] = BOOL_COLUMNS,
) -> Any:
    """Load a JSONL/JSON/CSV/Parquet file into canonical columns (see :func:`normalise_rows`)."""
    rows = read_records(path)
    if limit:
        rows = rows[:limit]
    return normalise_rows(rows, str(path), question_field, answer_field, answer_parser, prompt_id_field, bool_columns)


def split_dataset(ds: Any, eval_size: int, seed: int = 0) -> tuple[Any, Any]:
    """Split a file-backed dataset into (train, held-out) with a seeded shuffle."""
    if eval_size <= 0:
        return ds, None
    if eval_size >= len(ds):
        raise DataError(f"data.eval_size={eval_size} must be smaller than the dataset ({len(ds)} rows)")
    parts = ds.train_test_split(test_size=eval_size, seed=seed, shuffle=True)
    return parts["train"], parts["test"]
