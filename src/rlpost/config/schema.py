"""Dataclass schemas for rlpost-owned config groups; Hydra rejects unknown keys and wrong types at startup."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore

from rlpost.rollout.sampling import config_schema

# a sampling node (``sampling``, ``eval.sampling``): the config fields of rlpost.rollout.sampling.SamplingSettings
SamplingConfig = config_schema()


@dataclass
class GRPOAlgoConfig:
    """rlpost-owned GRPO knobs (TRL names where mirrored; ``kl_coef`` is TRL's ``beta``)."""

    num_generations: int = 8
    kl_coef: float = 0.0
    scale_rewards: str = "group"
    loss_type: str = "dapo"
    epsilon: float = 0.2
    epsilon_high: float | None = None
    entropy_coef: float = 0.0
    mask_truncated_completions: bool = False
    num_iterations: int = 1
    skip_zero_advantage: str = "auto"
    # token (GRPO) | sequence (GSPO: one length-normalised ratio per completion)
    importance_sampling_level: str = "token"
    # grpo | rloo (leave-one-out baseline, rlpost.methods.grpo.advantages)
    advantage_estimator: str = "grpo"
    # DAPO dynamic sampling (rlpost.methods.grpo.dynamic_sampling)
    dynamic_sampling: bool = False
    max_generation_rounds: int = 4
    max_uninformative_rounds: int = 32
    # vLLM rollouts: correct the rollout-vs-trainer log-prob mismatch (TRL's vllm_importance_sampling_*)
    vllm_importance_sampling_correction: bool = True
    vllm_importance_sampling_mode: str = "sequence_mask"
    vllm_importance_sampling_clip_max: float | None = 3.0


@dataclass
class DivPOAlgoConfig:
    """rlpost-owned DivPO knobs: pool size, band width, criterion, online rounds."""

    # completions per prompt (the pool, N)
    n: int = 16
    # reward band as a fraction of the pool's reward range, in [0, 0.5]; 0 = best-vs-worst DPO
    rho: float = 0.3
    # a (group) -> list[float] criterion node with _target_ and _partial_: true
    diversity: Any = None
    # online rounds (generate from the latest policy); 1 = offline DivPO
    rounds: int = 1
    # sequences per generate call
    generation_batch_size: int = 64


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


def register_configs() -> None:
    """Register the schemas so group files can extend them (``defaults: [grpo_schema, _self_]``)."""
    cs = ConfigStore.instance()
    cs.store(group="algo", name="grpo_schema", node=GRPOAlgoConfig)
    cs.store(group="algo", name="divpo_schema", node=DivPOAlgoConfig)
    cs.store(group="rollout", name="rollout_schema", node=RolloutConfig)
    cs.store(group="sampling", name="sampling_schema", node=SamplingConfig)
    cs.store(group="eval", name="eval_schema", node=EvalConfig)
