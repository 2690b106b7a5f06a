"""A generated yes/no text-classification task: is an arithmetic claim true? (ICL label probes).

Why this task: it ships with the code (generated, no licence question, any size, exactly balanced), uses the same
Yes/No label words and row format as TALLRec, so one scorer and one probe serve both tasks, and SmolLM2-135M can
add and multiply small numbers (43.5% greedy on the held-out mix, bench/results/grpo_arith/SUMMARY.md), so gold
labels carry a learnable signal. Checking GSM8K / MATH-500 solutions was considered and rejected: far beyond a 135M
model, so every setting would sit at chance and the probe would say nothing.
"""

from __future__ import annotations

import random
from typing import Any

INSTRUCTION = 'Decide whether the arithmetic statement is correct by answering "Yes." or "No.".'


def make_arithmetic_claims(n: int, seed: int = 0, max_operand: int = 50) -> list[dict[str, Any]]:
    """``n`` rows ``{instruction, input, output, label}``; half true claims, half off by 1-10 (never negative).

    Example:
        >>> rows = make_arithmetic_claims(4, seed=0)
        >>> [r["label"] for r in rows], rows[0]["input"].startswith("Statement: ")
        ([1, 0, 1, 0], True)
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rng.randint(0, max_operand), rng.randint(0, max_operand)
        op = rng.choice(["+", "*"]) if max(a, b) <= 12 else "+"
        true_value = value = a + b if op == "+" else a * b
        label = int(i % 2 == 0)
        while not label and (value == true_value or value < 0):
            value = true_value + rng.choice([-1, 1]) * rng.randint(1, 10)
        rows.append({"instruction": INSTRUCTION, "input": f"Statement: {a} {op} {b} = {value}",
                     "output": "Yes." if label else "No.", "label": label})
    return rows
