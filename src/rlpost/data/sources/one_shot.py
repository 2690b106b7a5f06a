"""1-shot RLVR data (Wang et al., arXiv 2504.20571): one training example duplicated to fill the batch.

The paper duplicates its example pi_1 to train_batch_size 128 (``scripts/train/training_1.5b_pi1_r128.sh``).
Each copy gets its own ``prompt_id`` (``<id>#<k>``) so that group-wise rewards (self-consistency) never merge two
copies' completions into one group.
"""

from __future__ import annotations

from typing import Any

from rlpost.errors import DataError

# pi_1 of the paper (its README): the label is 12.8
PI1_QUESTION = (
    "The pressure \\( P \\) exerted by wind on a sail varies jointly as the area \\( A \\) of the sail and the cube "
    "of the wind's velocity \\( V \\). When the velocity is \\( 8 \\) miles per hour, the pressure on a sail of "
    "\\( 2 \\) square feet is \\( 4 \\) pounds. Find the wind velocity when the pressure on \\( 4 \\) square feet "
    "of sail is \\( 32 \\) pounds."
)
PI1_ANSWER = "12.8"


def repeat_copies(row: dict[str, Any], copies: int) -> list[dict[str, Any]]:
    """``copies`` copies of ``row`` with distinct prompt ids.

    Example:
        >>> [r["prompt_id"] for r in repeat_copies({"prompt_id": "a", "question": "q", "answer": "1"}, 3)]
        ['a#0', 'a#1', 'a#2']
    """
    if copies < 1:
        raise DataError(f"data.source.copies={copies} must be >= 1")
    return [{**row, "prompt_id": f"{row['prompt_id']}#{k}"} for k in range(copies)]


def repeat_row(dataset: Any, copies: int = 128, index: int = 0) -> Any:
    """Row ``index`` of ``dataset`` (an instantiated source) repeated ``copies`` times."""
    from datasets import Dataset

    if not 0 <= index < len(dataset):
        raise DataError(f"data.source.index={index} is outside the dataset ({len(dataset)} rows)")
    return Dataset.from_list(repeat_copies(dict(dataset[index]), copies))


def single_example(question: str = PI1_QUESTION, answer: str | None = PI1_ANSWER, copies: int = 128,
                   prompt_id: str = "pi1") -> Any:
    """A dataset of one inline example repeated ``copies`` times (default: the paper's pi_1)."""
    from datasets import Dataset

    return Dataset.from_list(repeat_copies({"prompt_id": prompt_id, "question": question, "answer": answer}, copies))
