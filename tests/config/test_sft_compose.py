"""The SFT primary config and its recipes compose with the SFT smoke preset, resolve, and build their objects."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.conftest import ROOT, compose_recipe

NAMES = ["sft", *sorted(p.stem for p in (ROOT / "recipes").glob("sft_*.yaml"))]


@pytest.mark.parametrize("name", NAMES)
def test_sft_config_composes_and_instantiates(name):
    from hydra.core.hydra_config import HydraConfig

    cfg = compose_recipe(name, ["model=tiny_random", "logger=none", "+debug=sft_smoke"])
    HydraConfig.instance().set_config(cfg)
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    OmegaConf.set_struct(cfg, False)
    cfg.pop("hydra")
    cfg.run_dir = "/tmp/rlpost-sft-compose"
    OmegaConf.resolve(cfg)
    assert cfg.pipeline == "rlpost.methods.sft.pipeline.run"
    assert cfg.data.splits.train_path.endswith(".json") and "tallrec" in cfg.data.splits.test_path
    assert cfg.peft.config.r == 8 and list(cfg.peft.config.target_modules) == ["q_proj", "v_proj"]
    instantiate(cfg.data.prompt)
    instantiate(cfg.eval.scorer)
    assert instantiate(cfg.peft.config).lora_alpha == 16
    # answer-only loss, except the Llama-2 recipe, which trains on prompt + answer as TALLRec does
    answer_only = name != "sft_llama2_7b_tallrec_movie"
    assert instantiate(cfg.trainer, use_cpu=True, bf16=False).completion_only_loss is answer_only
