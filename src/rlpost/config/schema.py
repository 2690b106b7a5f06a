"""Dataclass schemas for rlpost-owned config groups; Hydra rejects unknown keys and wrong types at startup.

The shared groups' schemas are defined here; each method's ``algo`` schema is defined next to its code
(``methods/<m>/config.py: ALGO_SCHEMA``) and registered by :func:`register_configs` as ``algo/<m>_schema``.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.config_store import ConfigStore

from rlpost.rollout.sampling import config_schema

# a sampling node (``sampling``, ``eval.sampling``): the config fields of rlpost.rollout.sampling.SamplingSettings
SamplingConfig = config_schema()


@dataclass
class RolloutConfig:
    """The generation engine and its knobs; sampling is not here (``sampling``, ``eval.sampling``)."""

    use_vllm: bool = False
    vllm_mode: str = "colocate"
    gpu_memory_utilization: float = 0.3
    tensor_parallel_size: int = 1
    # GRPO generation: trl (GRPOTrainer's own generate) or rlpost (shared-prefill decode via rollout_func)
    engine: str = "trl"
    # vLLM (use_vllm=true; docs/vllm.md): dtype ("auto" = float32 on CPU, vLLM's choice on CUDA), context length
    # (None = the model's), CPU KV cache in GiB
    vllm_dtype: str = "auto"
    vllm_max_model_len: int | None = None
    vllm_cpu_kv_cache_gib: int = 1
    # peft=lora: adapter-only sync; adapter versions directory (None = <output_dir>/vllm_adapters)
    lora_adapter_sync: bool = True
    adapter_dir: str | None = None
    # staleness check every k-th sync (0 = off); tolerance: mean |engine - trainer| probe log-prob, nats/token
    staleness_check_every: int = 1
    staleness_tol: float = 0.05
    # rollout=vllm_server: server URL, per-request timeout, start-up health-check timeout (seconds)
    server_url: str = "http://127.0.0.1:8000"
    server_timeout_s: float = 300.0
    server_startup_timeout_s: float = 240.0


@dataclass
class EvalConfig:
    """Held-out evaluation settings."""

    k: int = 1
    sampling: SamplingConfig = field(default_factory=SamplingConfig)  # type: ignore[valid-type]
    answer_format: str = "auto"
    group_by: str | None = "op"
    batch_size: int = 64
    # auto | bfloat16 | float16 | float32 | null: autocast of fp32 models while generating (rlpost.runtime.hardware)
    autocast_dtype: str | None = "auto"
    before: bool = True
    after: bool = True
    # DivPO eval: also report the mean pairwise MiniLM embedding distance of each prompt's samples
    embedding_spread: bool = False
    # the task (rlpost.eval.tasks.registry.KINDS); every conf/eval/*.yaml states it
    kind: str | None = None


def config_dirs() -> tuple[Path, Path]:
    """``(conf/, recipes/)``: the repo folders in an editable install, else the copies packaged in the wheel."""
    pkg = Path(__file__).resolve().parents[1]
    repo = pkg.parents[1]
    if (repo / "conf").is_dir() and (repo / "recipes").is_dir():
        return repo / "conf", repo / "recipes"
    return pkg / "_conf", pkg / "_recipes"


def method_schemas() -> dict[str, type]:
    """``{"<m>_schema": schema}`` for every method package under :mod:`rlpost.methods` whose ``config`` module
    defines ``ALGO_SCHEMA``; found by walking the package, so a new method touches no list here."""
    import rlpost.methods

    schemas = {}
    for info in sorted(pkgutil.iter_modules(rlpost.methods.__path__), key=lambda m: m.name):
        name = f"rlpost.methods.{info.name}.config"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            schema = getattr(importlib.import_module(name), "ALGO_SCHEMA", None)
            if schema is not None:
                schemas[f"{info.name}_schema"] = schema
    return schemas


def register_configs() -> None:
    """Register the schemas so group files can extend them (``defaults: [grpo_schema, _self_]``)."""
    cs = ConfigStore.instance()
    for name, schema in method_schemas().items():
        cs.store(group="algo", name=name, node=schema)
    cs.store(group="rollout", name="rollout_schema", node=RolloutConfig)
    cs.store(group="sampling", name="sampling_schema", node=SamplingConfig)
    cs.store(group="eval", name="eval_schema", node=EvalConfig)
