"""Build the (train, held-out) datasets for ``cfg.data``: a file when ``data.path`` is set, else the generator."""

from __future__ import annotations

from typing import Any

from rlpost.data.sources.files import BOOL_COLUMNS, load_file, split_dataset
from rlpost.instantiate import instantiate_node


def build_datasets(data_cfg: Any, seed: int = 0) -> tuple[Any, Any]:
    """Return ``(train, eval)``; ``eval`` is None when there is nothing to hold out."""
    if data_cfg.get("path"):
        return split_dataset(load_configured_file(data_cfg), data_cfg.eval_size, seed)
    train = instantiate_node(data_cfg.source)
    held_out = instantiate_node(data_cfg.eval_source) if data_cfg.get("eval_source") else None
    return train, held_out


def build_eval_dataset(data_cfg: Any, seed: int = 0) -> Any:
    """The dataset ``rlpost-eval`` scores: the whole file when ``data.path`` is set, else the held-out generator."""
    if data_cfg.get("path"):
        return load_configured_file(data_cfg)
    return instantiate_node(data_cfg.eval_source)


def load_configured_file(data_cfg: Any) -> Any:
    """``data.path`` read with the field/parser settings of the ``data`` group."""
    return load_file(data_cfg.path, data_cfg.question_field, data_cfg.answer_field, data_cfg.answer_parser,
                     data_cfg.prompt_id_field, data_cfg.get("limit"), data_cfg.get("bool_columns", BOOL_COLUMNS))
