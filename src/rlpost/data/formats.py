"""TRL column conventions live only here: canonical rows -> the columns each TRL trainer expects."""

from __future__ import annotations

from typing import Any

from rlpost.data.templates import ChatTemplate
from rlpost.errors import DataError


def to_grpo_rows(dataset: Any, template: ChatTemplate) -> Any:
    """Add the conversational ``prompt`` column GRPOTrainer reads; other columns reach the rewards as kwargs."""
    if dataset is None or len(dataset) == 0:
        raise DataError("training dataset is empty")
    if "question" not in dataset.column_names:
        raise DataError(f"training dataset has no 'question' column (columns: {dataset.column_names})")
    return dataset.map(lambda row: {"prompt": template(row)})


def to_dpo_rows(pairs: list[dict[str, Any]]) -> Any:
    """Preference pairs -> TRL's conversational preference columns ``prompt``, ``chosen``, ``rejected``."""
    from datasets import Dataset

    if not pairs:
        raise DataError("no preference pairs to train on")
    return Dataset.from_list([{"prompt": p["prompt"], "chosen": [{"role": "assistant", "content": p["chosen"]}],
                               "rejected": [{"role": "assistant", "content": p["rejected"]}]} for p in pairs])
