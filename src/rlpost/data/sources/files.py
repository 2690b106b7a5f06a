"""Dataset loaders returning ``datasets.Dataset`` with canonical columns ``prompt_id``, ``question``, ``answer``.

Every loader validates its input and raises :class:`rlpost.errors.DataError` naming the file and line.
Extra columns (``op``, ``level``...) are kept: rewards and metrics can read them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlpost.errors import DataError

ARITH_OPS: dict[str, tuple[str, Callable[[int, int], int]]] = {
    "add": ("+", lambda a, b: a + b),
    "sub": ("-", lambda a, b: a - b),
    "mul": ("*", lambda a, b: a * b),
}

# Word-problem wordings of the same arithmetic, to check that a gain is not tied to the training template.
WORD_TEMPLATES: dict[str, list[str]] = {
    "add": [
        "Tom has {a} apples and buys {b} more. How many apples does he have now?",
        "A shelf holds {a} books and another shelf holds {b} books. How many books are there in total?",
    ],
    "sub": ["Sara had {a} stickers and gave away {b}. How many stickers does she have left?"],
    "mul": [
        "There are {a} boxes with {b} pencils in each box. How many pencils are there?",
        "A garden has {a} rows of {b} flowers. How many flowers are in the garden?",
    ],
}

# Training wordings for ``style="mixed"``: disjoint from WORD_TEMPLATES, which stay held out for evaluation, so a
# gain on the word-problem evaluation measures transfer to unseen wordings, not memorised templates.
TRAIN_WORD_TEMPLATES: dict[str, list[str]] = {
    "add": [
        "A farmer collects {a} eggs in the morning and {b} eggs in the afternoon. How many eggs does he collect?",
        "Lena walks {a} meters, then {b} meters more. How many meters does she walk in all?",
        "What is the sum of {a} and {b}?",
        "A class has {a} girls and {b} boys. How many children are in the class?",
    ],
    "sub": [
        "A tank holds {a} liters and {b} liters leak out. How many liters are left?",
        "What is {a} minus {b}?",
    ],
    "mul": [
        "Each bag holds {a} marbles. How many marbles are in {b} bags?",
        "What is the product of {a} and {b}?",
        "A ticket costs {a} dollars. How much do {b} tickets cost?",
        "A week has {a} school days with {b} lessons each. How many lessons is that?",
    ],
}


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


def generate_arithmetic(
    size: int,
    seed: int = 0,
    ops: Sequence[str] = ("add", "mul"),
    digits: dict[str, int] | None = None,
    style: str = "plain",
    mix: dict[str, float] | None = None,
    word_share: float = 0.0,
) -> Any:
    """Seeded arithmetic problems, operations interleaved evenly (the default task) or in the ``mix`` proportions.

    Args:
        size: number of problems.
        seed: RNG seed; use different seeds for train and held-out sets.
        ops: operations among ``add``, ``sub``, ``mul``.
        digits: max digits of each operand per op (default: add/sub 2, mul 1).
        style: ``plain`` ("What is 12 + 34?"), ``word`` (word problems of the same arithmetic; the held-out
            evaluation wordings) or ``mixed`` (plain, with a ``word_share`` of problems in the *training* wordings
            ``TRAIN_WORD_TEMPLATES``, disjoint from ``word``'s).
        mix: relative weight per operation in ``ops`` (e.g. ``{add: 3, mul: 1}`` puts more training on the
            operation the model is worst at); operations are interleaved deterministically in these proportions.
        word_share: with ``style="mixed"``, the fraction of problems worded (seeded per problem).
    """
    from datasets import Dataset

    digits = {"add": 2, "sub": 2, "mul": 1, **(digits or {})}
    unknown = [op for op in ops if op not in ARITH_OPS]
    if unknown:
        raise DataError(f"data.source.ops: unknown operation(s) {unknown}; choose from {sorted(ARITH_OPS)}")
    if style not in ("plain", "word", "mixed"):
        raise DataError(f"data.source.style={style!r}: choose plain, word or mixed")
    if not 0.0 <= word_share <= 1.0:
        raise DataError(f"data.source.word_share={word_share} must be in [0, 1]")
    schedule = op_schedule(ops, mix)
    rng = random.Random(seed)
    rows = []
    for i in range(size):
        op = schedule[i % len(schedule)]
        hi = 10 ** digits[op] - 1
        a, b = rng.randint(0, hi), rng.randint(0, hi)
        symbol, fn = ARITH_OPS[op]
        if style == "word":
            question = rng.choice(WORD_TEMPLATES[op]).format(a=a, b=b)
        elif style == "mixed" and rng.random() < word_share:
            question = rng.choice(TRAIN_WORD_TEMPLATES[op]).format(a=a, b=b)
        else:
            question = f"What is {a} {symbol} {b}?"
        rows.append({"prompt_id": f"arith-{seed}-{i}", "question": question, "answer": str(fn(a, b)), "op": op})
    return Dataset.from_list(rows)


def op_schedule(ops: Sequence[str], mix: dict[str, float] | None = None) -> list[str]:
    """One period of the operation sequence: ``ops`` in turn, or interleaved in the ``mix`` proportions.

    Example:
        >>> op_schedule(["add", "mul"])
        ['add', 'mul']
        >>> op_schedule(["add", "mul"], {"add": 3, "mul": 1})
        ['add', 'add', 'mul', 'add']
    """
    if not mix:
        return list(ops)
    extra = sorted(set(mix) - set(ops))
    if extra or any(not (w >= 0) for w in mix.values()) or sum(mix.values()) <= 0:
        raise DataError(f"data.source.mix={dict(mix)}: weights must be >= 0 with a positive sum, "
                        f"keys among data.source.ops {list(ops)}")
    total = sum(mix.values())
    period = 20
    counts = {op: round(period * mix.get(op, 0.0) / total) for op in ops}
    divisor = math.gcd(*counts.values())
    counts = {op: n // divisor for op, n in counts.items()}
    schedule, credit = [], dict.fromkeys(ops, 0.0)
    for _ in range(sum(counts.values())):
        for op in ops:
            credit[op] += counts[op]
        op = max(ops, key=lambda o: credit[o])
        credit[op] -= sum(counts.values())
        schedule.append(op)
    return schedule


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read JSONL / JSON / CSV / Parquet rows as dicts, with errors that name the file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data.path={path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                rows.append(row)
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
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

    from rlpost.text.answers import parse_gold

    out = []
    flags = [c for c in bool_columns if any(c in row for row in rows)]
    for i, row in enumerate(rows, 1):
        if question_field not in row:
            raise DataError(f"{origin}: row {i} has no {question_field!r} field (data.question_field)")
        question = str(row[question_field])
        answer = row.get(answer_field) if answer_field else None
        if answer is not None and answer != "":
            answer = parse_gold(str(answer), answer_parser)
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


def load_hf_dataset(
    path: str,
    split: str,
    name: str | None = None,
    question_field: str = "question",
    answer_field: str | None = "answer",
    answer_parser: str = "none",
    limit: int | None = None,
    bool_columns: Sequence[str] = BOOL_COLUMNS,
) -> Any:
    """Load a dataset by name with ``datasets.load_dataset`` (hub or local cache) into canonical columns."""
    import datasets

    try:
        ds = datasets.load_dataset(path, name, split=split)
    except Exception as err:  # noqa: BLE001 - datasets raises many types; one line is what the user needs
        raise DataError(f"data.source.path={path}: cannot load dataset split {split!r} ({err})") from None
    rows = ds.to_list()[:limit] if limit else ds.to_list()
    return normalise_rows(rows, f"{path}[{split}]", question_field, answer_field, answer_parser,
                          bool_columns=bool_columns)


def split_dataset(ds: Any, eval_size: int, seed: int = 0) -> tuple[Any, Any]:
    """Split a file-backed dataset into (train, held-out) with a seeded shuffle."""
    if eval_size <= 0:
        return ds, None
    if eval_size >= len(ds):
        raise DataError(f"data.eval_size={eval_size} must be smaller than the dataset ({len(ds)} rows)")
    parts = ds.train_test_split(test_size=eval_size, seed=seed, shuffle=True)
    return parts["train"], parts["test"]
