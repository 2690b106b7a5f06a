"""Each training method evaluates the eval kinds it can (eval.kind); another is a one-line error naming eval.kind,
raised first thing in the method's setup (before a model loads)."""

from __future__ import annotations

from importlib import import_module

import pytest

from rlpost.errors import ConfigError
from tests.conftest import pipeline_cfg


@pytest.mark.parametrize(("method", "option", "message"), [
    ("grpo", "yes_no", "eval.kind='yes_no': GRPO evaluates math_qa or instruction_following or none"),
    ("sft", "math_qa", r"eval.kind='math_qa': SFT \(its valid AUC needs the scorer\) evaluates yes_no"),
    ("divpo", "yes_no", "eval.kind='yes_no': DivPO evaluates diversity or none"),
])
def test_a_method_rejects_a_kind_it_cannot_evaluate(method, option, message, tmp_path):
    from rlpost.pipeline import Run

    cfg = pipeline_cfg(method, ["model=tiny_random", f"eval={option}"], tmp_path)
    with pytest.raises(ConfigError, match=message) as err:
        import_module(f"rlpost.methods.{method}.pipeline").METHOD.setup(Run(cfg, tmp_path, None))
    assert "\n" not in str(err.value)
