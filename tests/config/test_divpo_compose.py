"""DivPO primary config, algo variants and recipes compose, resolve and validate; targets import."""

from __future__ import annotations

import pytest
from hydra.utils import get_method, instantiate
from omegaconf import OmegaConf

from rlpost.config.validate import validate
from tests.conftest import compose_recipe

CASES = [("divpo", []), ("divpo", ["algo=dpo"]), ("divpo", ["algo/diversity=logprob", "data=random_x",
                                                           "reward=one_word"]),
         ("divpo", ["algo/diversity=word", "data=keyword_story", "reward=keywords"]),
         ("divpo", ["algo/diversity=embedding", "peft=lora"]),
         ("divpo_smollm2_persona", []), ("divpo_llama3_1_8b_persona", []),
         ("divpo_smollm2_persona", ["+debug=divpo_smoke"]), ("divpo_llama3_1_8b_persona", ["+debug=divpo_smoke"])]


@pytest.mark.parametrize(("name", "overrides"), CASES)
def test_divpo_configs_compose(name, overrides) -> None:
    cfg = compose_recipe(name, ["model=tiny_random", "logger=none", "run_dir=/tmp/rlpost-x", "run_name=x",
                                *overrides])
    OmegaConf.set_struct(cfg, False)
    del cfg["hydra"]
    OmegaConf.resolve(cfg)
    validate(cfg, cuda_available=False)
    assert callable(get_method(cfg.pipeline))
    assert callable(instantiate(cfg.algo.diversity))
    assert instantiate(cfg.data.source) is not None
    assert instantiate(cfg.trainer, use_cpu=True).beta > 0


def test_bad_algo_key_rejected() -> None:
    with pytest.raises(Exception, match="pool_size"):
        compose_recipe("divpo", ["model=tiny_random", "algo.pool_size=3"])
