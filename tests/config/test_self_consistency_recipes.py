"""The self-consistency / 1-shot recipes and guards options compose, validate and build their data."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import ROOT, compose_recipe

RECIPES = ["grpo_smollm2_arith_sc", "grpo_smollm2_arith_one_shot", "grpo_qwen2_5_math_1_5b_math500_ttrl",
           "grpo_qwen2_5_math_1_5b_gsm8k_srt", "grpo_qwen2_5_math_1_5b_math500_one_shot"]


def compose(name: str, overrides: list[str] | None = None):
    from hydra.core.hydra_config import HydraConfig

    cfg = compose_recipe(name, overrides)
    HydraConfig.instance().set_config(cfg)  # ${hydra:job.config_name} in run_name
    return cfg


def resolved(cfg) -> dict:
    keys = [k for k in cfg if k != "hydra" and OmegaConf.is_config(cfg[k])]
    return {k: OmegaConf.to_container(cfg[k], resolve=True) for k in keys}


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_composes_and_validates(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from rlpost.config.validate import validate

    assert (ROOT / "recipes" / f"{name}.yaml").is_file()
    cfg = compose(name)
    resolved(cfg)
    # validate as on the machine the recipe is written for: CUDA, and vLLM installed for the GPU recipes
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda mod, *a: object() if mod == "vllm" else find_spec(mod, *a))
    validate(cfg, cuda_available=True)


@pytest.mark.parametrize("option", ["none", "early_stopping", "collapse", "srt", "offline_labels", "curriculum"])
def test_guards_options_compose(option: str) -> None:
    cfg = compose("grpo", [f"guards={option}"])
    assert set(cfg.guards) == {"base_labels", "curriculum", "early_stopping", "collapse"}


def test_one_shot_data_is_one_example_repeated() -> None:
    from rlpost.data.build import build_datasets

    cfg = compose("grpo_smollm2_arith_one_shot")
    train, held_out = build_datasets(cfg.data, cfg.seed)
    assert len(train) == 64 and len(set(train["question"])) == 1 and len(set(train["prompt_id"])) == 64
    assert len(held_out) == 200


def test_gpu_one_shot_data_is_pi1_and_math500() -> None:
    from rlpost.data.build import build_datasets

    cfg = compose("grpo_qwen2_5_math_1_5b_math500_one_shot")
    if not Path(cfg.data.eval_source.path).is_file():
        pytest.skip(f"{cfg.data.eval_source.path} not present (shared data folder)")
    train, held_out = build_datasets(cfg.data, cfg.seed)
    assert set(train["answer"]) == {"12.8"} and len(train) == 128 and len(held_out) == 500
