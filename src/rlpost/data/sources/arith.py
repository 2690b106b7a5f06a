"""Seeded arithmetic problems (the default task, ``conf/data/arith.yaml``): plain, word-problem or mixed wordings.

Rows have the canonical columns ``prompt_id``, ``question``, ``answer`` plus ``op``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
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
