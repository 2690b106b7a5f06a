"""Every primary config and recipe composes, resolves, validates, and every _target_ binds its kwargs."""

from __future__ import annotations

import importlib
import inspect

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf

from tests.conftest import ROOT, compose_recipe

PRIMARIES = sorted(p.stem for p in (ROOT / "conf").glob("*.yaml"))
RECIPES = sorted(p.stem for p in (ROOT / "recipes").glob("*.yaml"))
SMOKE = ["model=tiny_random", "logger=none", "+debug=cpu_smoke"]


def _smoke(name: str) -> list[str]:
    """The tiny model, no logger, and the smoke overrides of the method that ``cfg.pipeline`` names (none for
    rlpost-eval)."""
    from rlpost.config.validate import method_config

    method = method_config(compose_recipe(name, SMOKE[:2]).pipeline)
    return [*SMOKE[:2], *(method.SMOKE if method is not None else [])]


def _resolve(name: str, overrides: list[str]) -> DictConfig:
    from hydra.core.hydra_config import HydraConfig

    cfg = compose_recipe(name, overrides)
    HydraConfig.instance().set_config(cfg)
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    OmegaConf.set_struct(cfg, False)
    cfg.run_dir = "/tmp/rlpost-compose-test"
    cfg.pop("hydra")
    OmegaConf.resolve(cfg)
    return cfg


def _targets(node, path=""):
    if isinstance(node, DictConfig):
        if "_target_" in node:
            yield path, node
        for k, v in node.items():
            yield from _targets(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, ListConfig):
        for i, v in enumerate(node):
            yield from _targets(v, f"{path}[{i}]")


@pytest.mark.parametrize("name", PRIMARIES + RECIPES)
def test_composes_resolves_and_validates(name: str) -> None:
    from rlpost.config.validate import validate

    cfg = _resolve(name, _smoke(name))
    assert cfg.pipeline.startswith("rlpost.")
    if "rollout" in cfg:
        OmegaConf.set_struct(cfg, False)
        cfg.rollout.use_vllm = False  # validated for everything but vLLM itself (absent from some venvs)
    validate(cfg, world_size=1, cuda_available=False)


@pytest.mark.parametrize("name", PRIMARIES + RECIPES)
def test_every_target_binds(name: str) -> None:
    cfg = _resolve(name, _smoke(name))
    targets = list(_targets(cfg))
    assert targets, f"{name} composes to a config without any _target_"
    for path, node in targets:
        module, _, attr = node._target_.rpartition(".")
        target = getattr(importlib.import_module(module), attr)
        kwargs = {k: v for k, v in node.items() if not str(k).startswith("_")}
        sig = inspect.signature(target)
        if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            try:
                sig.bind_partial(**kwargs)
            except TypeError as err:
                pytest.fail(f"{name}: {path} ({node._target_}): {err}")


def test_unknown_algo_key_is_rejected() -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        compose_recipe("grpo", ["algo.num_gens=4"])
    with pytest.raises(ConfigCompositionException):
        compose_recipe("grpo", ["algo.num_generations=abc"])


def test_each_method_registers_its_own_algo_schema() -> None:
    """``algo/<m>_schema`` is the ``ALGO_SCHEMA`` of ``methods/<m>/config.py``, found by walking rlpost.methods."""
    from hydra.core.config_store import ConfigStore

    from rlpost.config import register_configs
    from rlpost.config.schema import method_schemas

    schemas = method_schemas()
    assert {name: schema.__module__ for name, schema in schemas.items()} == {
        "divpo_schema": "rlpost.methods.divpo.config", "grpo_schema": "rlpost.methods.grpo.config"}
    register_configs()
    stored = ConfigStore.instance().repo["algo"]
    assert OmegaConf.to_object(stored["grpo_schema.yaml"].node).num_generations == 8
    assert OmegaConf.to_object(stored["divpo_schema.yaml"].node).rho == 0.3


def test_trainer_interpolates_algo_values() -> None:
    cfg = _resolve("grpo", SMOKE + ["algo.num_generations=4", "algo.kl_coef=0.04"])
    assert cfg.trainer.num_generations == 4 and cfg.trainer.beta == 0.04


@pytest.mark.parametrize("name", [r for r in RECIPES if r.startswith("grpo_")])
def test_no_recipe_inherits_the_quickstart_time_cap(name: str) -> None:
    """conf/grpo.yaml caps the quickstart at 5 minutes of training; a recipe must say its own budget."""
    quickstart_cap = compose_recipe("grpo", SMOKE[:2]).max_train_minutes
    recipe = OmegaConf.load(ROOT / "recipes" / f"{name}.yaml")
    assert quickstart_cap == 5
    assert "max_train_minutes" in recipe, f"recipes/{name}.yaml inherits max_train_minutes={quickstart_cap}"


ENGINES = sorted(p.stem for p in (ROOT / "conf" / "rollout").glob("*.yaml"))


@pytest.mark.parametrize("name", [p for p in PRIMARIES if "rollout" in compose_recipe(p, SMOKE[:2])])
def test_choosing_the_engine_never_changes_sampling(name: str) -> None:
    """rollout= picks the engine only: training (sampling) and evaluation (eval.sampling) sample the same with any."""
    def sampling(engine):
        cfg = _resolve(name, [*_smoke(name), f"rollout={engine}"])
        return {key: OmegaConf.to_container(node) for key in ("sampling", "eval.sampling")
                if (node := OmegaConf.select(cfg, key)) is not None}, cfg.rollout.use_vllm

    default, use_vllm = sampling("hf")
    assert default and not use_vllm
    for engine in ENGINES:
        assert sampling(engine) == (default, engine != "hf"), engine


def test_grpo_trainer_samples_with_the_sampling_group() -> None:
    from rlpost.rollout.sampling import SamplingSettings
    from rlpost.runtime.trl_args import sampling_args

    cfg = _resolve("grpo", [*SMOKE, "sampling.temperature=0.9", "sampling.top_k=20", "sampling.max_new_tokens=12"])
    assert "temperature" not in cfg.trainer and "max_completion_length" not in cfg.trainer
    args = sampling_args(SamplingSettings.from_cfg(cfg.sampling))
    assert args == {"temperature": 0.9, "top_p": 1.0, "top_k": 20, "max_completion_length": 12}
