"""A data generator's or loader's own DataError reaches the CLI as itself (one line), not wrapped by Hydra."""

from __future__ import annotations

import pytest

from rlpost.errors import DataError
from tests.conftest import compose_recipe


def test_generator_data_error_is_not_wrapped_by_hydra():
    from rlpost.data.build import build_datasets, build_eval_dataset

    cfg = compose_recipe("grpo", ["data.source.ops=[add,div]"])
    with pytest.raises(DataError, match=r"^data.source.ops: unknown operation\(s\) \['div'\]"):
        build_datasets(cfg.data, 0)
    cfg = compose_recipe("evaluate", ["data=ifeval", "data.eval_source.path=/nonexistent/ifeval.jsonl"])
    with pytest.raises(DataError, match=r"^data.path=/nonexistent/ifeval.jsonl: file not found"):
        build_eval_dataset(cfg.data, 0)
