"""Several prompt sources in one training set, e.g. instruction-following prompts with a share of arithmetic replay.

Each row keeps its own columns (the union over the sources, missing ones None) and a ``source`` column naming where
it came from. Rewards route themselves by those columns: a reward abstains (None) on rows it has nothing to score
(``AccuracyReward`` without a gold ``answer``, ``InstructionFollowingReward`` without constraints), and TRL sums the
weighted rewards that did not abstain, so ``reward.funcs`` can list one reward per source
(``conf/data/if_arith_mix.yaml`` with ``conf/reward/if_arith.yaml``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from rlpost.errors import DataError


def mix_sources(sources: Mapping[str, Any], question_formats: Mapping[str, str] | None = None, seed: int = 0) -> Any:
    """The rows of every dataset in ``sources`` (name -> dataset), shuffled together with ``seed``.

    Args:
        sources: name -> a dataset of rows with a ``question`` column (e.g. an instantiated generator node).
        question_formats: name -> a format of ``{question}`` applied to that source's rows, for what a single-source
            recipe puts in its chat template (arithmetic: ``"{question} Give the final answer as a number."``).
        seed: shuffle seed.

    Raises:
        DataError: no sources, a source without a ``question`` column, or a format for a source that is not listed
            or without ``{question}``.
    """
    from datasets import Dataset

    if not sources:
        raise DataError("data.source.sources: no sources to mix")
    formats = dict(question_formats or {})
    unknown = sorted(set(formats) - set(sources))
    if unknown:
        raise DataError(f"data.source.question_formats: {unknown} not among data.source.sources {sorted(sources)}")
    for name, fmt in formats.items():
        if "{question}" not in fmt:
            raise DataError(f"data.source.question_formats.{name}: {fmt!r} has no {{question}}")
    rows: list[dict[str, Any]] = []
    for name, dataset in sources.items():
        part = list(dataset)
        if part and "question" not in part[0]:
            raise DataError(f"data.source.sources.{name}: rows have no 'question' column")
        fmt = formats.get(name, "{question}")
        rows += [{**row, "question": fmt.replace("{question}", row["question"]), "source": name} for row in part]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    random.Random(seed).shuffle(rows)
    return Dataset.from_list([{key: row.get(key) for key in columns} for row in rows])
