"""vLLM rollouts inside GRPO (TRL's ``use_vllm=True``): hardware settings, adapter-only LoRA sync, staleness check.

rlpost's :class:`~rlpost.methods.grpo.trainer.GRPOTrainer` builds TRL 1.16's ``VLLMGeneration`` through
:func:`generation_class`, a subclass that changes three things and leaves the rest to TRL (docs/vllm.md):

1. **Engine settings per hardware** (:func:`rlpost.rollout.vllm_settings.llm_kwargs`): on CPU fp32, eager mode and the
   plain linear path (without it TRL's ``load_weights`` sync crashes or is lost); on CUDA nothing is added.
2. **Adapter-only LoRA sync** (``peft=lora``): instead of merging the adapter and pushing every weight, each sync saves
   the adapter (a few MB) as a new version directory and the engine samples with it under a new LoRA id
   (vLLM's ``LoRARequest``); the base weights in the engine never change.
3. **Staleness check** after every ``check_every``-th sync: the engine's log-probs of a fixed probe completion are
   compared with the trainer's; a mean absolute difference above ``tolerance`` (nats/token) stops the run with a
   :class:`StaleEngineError` naming the last step whose sync was verified. It catches every silent failure of the
   sync (weights or adapters that never reach the engine), since rollouts would otherwise keep sampling an old policy.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlpost.errors import UserError
from rlpost.io import write_dir

logger = logging.getLogger(__name__)

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # vLLM's accepted max_lora_rank values
PROBE = ([{"role": "user", "content": "What is 12 + 7? Answer with a number."}], "12 + 7 = 19. The answer is 19.")


class StaleEngineError(UserError):
    """The rollout engine's policy is not the trainer's: the weight/adapter sync did not take effect."""


@dataclass
class VLLMRunSettings:
    """What rlpost adds to TRL's vLLM generation (built by :func:`settings_from_cfg`)."""

    llm_kwargs: dict[str, Any] = field(default_factory=dict)
    adapter_only: bool = False  # sync only the LoRA adapter (peft=lora)
    lora_rank: int = 16
    # where adapter versions are written (each rank its own subfolder)
    adapter_dir: str | None = None
    # staleness check: every k-th sync (0 = off), tolerance in nats per token (mean absolute difference)
    check_every: int = 1
    tolerance: float = 0.05
    cpu_kv_cache_gib: int = 1
    # server mode (rollout=vllm_server): URL, per-request and start-up timeouts in seconds
    server_url: str = "http://127.0.0.1:8000"
    server_timeout_s: float = 300.0
    server_startup_timeout_s: float = 240.0


def settings_from_cfg(rollout_cfg: Any, peft_cfg: Any, output_dir: str) -> VLLMRunSettings:
    """The ``rollout`` group (+ ``peft``: adapter-only sync of a LoRA) -> :class:`VLLMRunSettings`."""
    from rlpost.rollout.vllm_settings import llm_kwargs

    ro = rollout_cfg
    lora = bool(peft_cfg and peft_cfg.get("enabled", False))
    rank = int(peft_cfg.config.get("r", 16)) if lora else 16
    return VLLMRunSettings(
        llm_kwargs=llm_kwargs(ro), adapter_only=lora and bool(ro.get("lora_adapter_sync", True)),
        lora_rank=next((r for r in LORA_RANKS if r >= rank), rank),
        adapter_dir=ro.get("adapter_dir") or str(Path(output_dir) / "vllm_adapters"),
        check_every=int(ro.get("staleness_check_every", 1)), tolerance=float(ro.get("staleness_tol", 0.05)),
        cpu_kv_cache_gib=int(ro.get("vllm_cpu_kv_cache_gib", 1) or 1),
        server_url=ro.get("server_url", "http://127.0.0.1:8000"),
        server_timeout_s=float(ro.get("server_timeout_s", 300)),
        server_startup_timeout_s=float(ro.get("server_startup_timeout_s", 240)))


class _AdapterLLM:
    """A ``vllm.LLM`` whose ``generate`` always samples with the generation's current adapter version."""

    def __init__(self, llm: Any, owner: Any) -> None:
        self._llm, self._owner = llm, owner

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("lora_request", self._owner.lora_request)
        return self._llm.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)


class _LaunchedServerInfo:
    """Answers TRL's ``vllm_client.get_server_info()`` for a server started by launch/vllm_server.sh."""

    def get_server_info(self) -> dict[str, Any]:
        return {"model_config": {"logprobs_mode": "processed_logprobs"}}


class RlpostVLLMGenerationMixin:
    """rlpost's part of TRL's ``VLLMGeneration`` (hardware settings, adapter-only sync, staleness check), mixed in
    at run time by :func:`generation_class` (TRL's vLLM module imports vLLM), which sets ``rlpost_settings``."""

    rlpost_settings: VLLMRunSettings

    def _init_vllm(self) -> None:
        from trl.generation import vllm_generation as trl_vllm

        from rlpost.rollout.vllm_settings import engine_device, prepare_cpu_env

        self.lora_request = None
        self.adapter_version = 0
        self.syncs = 0
        self.verified_step: int | None = None
        self.trainer_ref: Any = None  # weakref to the trainer, set by it: the step number in messages
        if self.top_k is None:  # sampling.top_k: null means off; vLLM spells that 0 (None fails its validation)
            self.top_k = 0
        s = self.rlpost_settings
        if self.mode == "server" and s.adapter_only:
            self.init_adapter_server()
            return
        if self.mode != "colocate":
            super()._init_vllm()  # full-weight server sync: TRL's NCCL path (CUDA; validate refuses it on CPU)
            return
        if engine_device() == "cpu":
            prepare_cpu_env({"vllm_cpu_kv_cache_gib": s.cpu_kv_cache_gib})
        extra = dict(s.llm_kwargs)
        if s.adapter_only:
            extra.update(enable_lora=True, max_lora_rank=s.lora_rank, max_loras=1)
        original = trl_vllm.LLM
        trl_vllm.LLM = lambda **kw: original(**{**kw, **extra})
        try:
            super()._init_vllm()
        finally:
            trl_vllm.LLM = original
        if s.adapter_only:
            self.llm = _AdapterLLM(self.llm, self)

    @property
    def step(self) -> int:
        trainer = self.trainer_ref() if self.trainer_ref is not None else None
        return int(trainer.state.global_step) if trainer is not None else self.syncs

    def init_adapter_server(self) -> None:
        """Server mode with LoRA: health check, same base model, then adapters go through a directory."""
        from rlpost.rollout.vllm_server import VLLMServerClient

        s = self.rlpost_settings
        self.client = VLLMServerClient(s.server_url, s.server_timeout_s)
        self.client.wait_healthy(s.server_startup_timeout_s)
        self.served_model = self.client.check_model(self.accelerator.unwrap_model(self.model).name_or_path)
        # TRL's trainer asks TRL's own server for its logprobs mode; launch/vllm_server.sh starts vLLM with
        # --logprobs-mode processed_logprobs
        self.vllm_client = _LaunchedServerInfo()
        self.accelerator.wait_for_everyone()

    @property
    def policy_name(self) -> str:
        """The served model name of the current policy (the adapter version, or the base model)."""
        return self.lora_request.lora_name if self.lora_request is not None else self.served_model

    def sync_weights(self) -> None:
        if self.rlpost_settings.adapter_only and self.mode == "colocate":
            self.push_adapter()
        elif self.rlpost_settings.adapter_only:
            self.push_adapter_to_server()
        else:
            super().sync_weights()
        self.syncs += 1
        every = self.rlpost_settings.check_every
        if every and (self.syncs - 1) % every == 0:
            self.check_staleness()

    def push_adapter(self) -> None:
        """Save the current adapter as a new version directory and sample with it from now on."""
        from vllm.lora.request import LoRARequest

        self.adapter_version += 1
        path = save_adapter_version(self.accelerator.unwrap_model(self.model), self.rlpost_settings.adapter_dir,
                                    self.accelerator.process_index, self.adapter_version)
        self.lora_request = LoRARequest(f"rlpost-policy-v{self.adapter_version}", self.adapter_version,
                                        str(path))
        self.llm.reset_prefix_cache()

    def push_adapter_to_server(self) -> None:
        """Main process: write the adapter version and have the server load it; every rank then samples it."""
        from vllm.lora.request import LoRARequest

        self.adapter_version += 1
        name = f"rlpost-policy-v{self.adapter_version}"
        path = Path(self.rlpost_settings.adapter_dir) / "rank0" / f"v{self.adapter_version:06d}"
        if self.accelerator.is_main_process:
            path = save_adapter_version(self.accelerator.unwrap_model(self.model),
                                        self.rlpost_settings.adapter_dir, 0, self.adapter_version)
            self.client.load_adapter(name, str(path))
            if self.lora_request is not None:
                self.client.unload_adapter(self.lora_request.lora_name)
        self.accelerator.wait_for_everyone()
        self.lora_request = LoRARequest(name, self.adapter_version, str(path))

    def generate(self, prompts: list[list[int]], images: Any, num_generations: int,
                 profiler: Any = None) -> tuple:
        if not (self.mode == "server" and self.rlpost_settings.adapter_only):
            return super().generate(prompts, images, num_generations, profiler)
        return server_generate(self, prompts)

    def engine_probe_logprobs(self, ids: list[int], n_prompt: int) -> list[float]:
        from vllm import SamplingParams

        if self.mode == "server" and self.rlpost_settings.adapter_only:
            return self.client.prompt_logprobs(self.policy_name, ids, n_prompt)
        out = self.llm.generate([{"prompt_token_ids": ids}], sampling_params=SamplingParams(
            max_tokens=1, temperature=1.0, prompt_logprobs=0), use_tqdm=False)[0]
        return [out.prompt_logprobs[i][ids[i]].logprob for i in range(n_prompt, len(ids))]

    def check_staleness(self) -> float:
        """Compare the engine's and the trainer's probe log-probs; raise :class:`StaleEngineError` on mismatch."""
        ids, n_prompt = probe_ids(self.processing_class)
        engine = self.engine_probe_logprobs(ids, n_prompt)
        trainer = trainer_probe_logprobs(self.accelerator.unwrap_model(self.model), ids, n_prompt)
        diff = sum(abs(a - b) for a, b in zip(engine, trainer, strict=True)) / len(engine)
        tol = self.rlpost_settings.tolerance
        if diff > tol:
            last = "none" if self.verified_step is None else f"step {self.verified_step}"
            raise StaleEngineError(
                f"vLLM rollouts are stale at step {self.step}: the engine's log-probs of a probe completion "
                f"differ from the trainer's by {diff:.4f} nats/token (rollout.staleness_tol={tol}); the weight "
                f"sync did not reach the engine. Last verified sync: {last}")
        self.verified_step = self.step
        logger.debug("vLLM staleness check at step %d: %.2e nats/token", self.step, diff)
        return diff


def generation_class(settings: VLLMRunSettings) -> type:
    """TRL's ``VLLMGeneration`` with rlpost's settings, adapter-only sync and staleness check."""
    from trl.generation import vllm_generation as trl_vllm

    return type("RlpostVLLMGeneration", (RlpostVLLMGenerationMixin, trl_vllm.VLLMGeneration),
                {"rlpost_settings": settings})


def server_generate(gen: Any, prompts: list[list[int]]) -> tuple:
    """Each process asks the server for its own prompts (TRL repeats each prompt G times in a row: one request per
    distinct count, ``n`` = count); returns TRL's ``(prompt_ids, completion_ids, logprobs, logprob_token_ids)``."""
    from rlpost.methods.grpo.rollout_func import split_runs

    if gen.structured_outputs_regex or gen.repetition_penalty != 1.0 or gen.min_p:
        raise ValueError("rollout=vllm_server with peft=lora supports temperature/top_p/top_k only")
    runs = split_runs([tuple(p) for p in prompts])
    by_run: dict[int, list[dict[str, Any]]] = {}
    for count in sorted({c for _, c in runs}):
        idx = [i for i, (_, c) in enumerate(runs) if c == count]
        out = gen.client.complete(gen.policy_name, [list(runs[i][0]) for i in idx], n=count,
                                  max_tokens=gen.max_completion_length, temperature=gen.temperature,
                                  top_p=gen.top_p, top_k=gen.top_k)
        for k, i in enumerate(idx):
            by_run[i] = out[k * count:(k + 1) * count]
    prompt_ids, completion_ids, logprobs = [], [], []
    for i, (p, _) in enumerate(runs):
        for c in by_run[i]:
            prompt_ids.append(list(p))
            completion_ids.append(c["token_ids"])
            logprobs.append([[lp] for lp in c["logprobs"]])
    return prompt_ids, completion_ids, logprobs, None


def save_adapter_version(model: Any, root: str | Path, rank: int, version: int, keep: int = 2) -> Path:
    """Write the peft adapter of ``model`` to ``root/rank<r>/v<version>`` atomically; keep the newest ``keep``."""
    base = Path(root) / f"rank{rank}"
    base.mkdir(parents=True, exist_ok=True)
    # a transient hand-off to the vLLM server, never read after a crash: renamed into place, not fsynced
    path = write_dir(base / f"v{version:06d}", lambda tmp: model.save_pretrained(str(tmp)), fsync=False)
    for old in sorted(p for p in base.glob("v*") if p.name[1:].isdigit())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def probe_ids(tokenizer: Any) -> tuple[list[int], int]:
    """Token ids of the fixed probe (chat prompt + completion) and the prompt's length."""
    prompt, completion = PROBE
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    p = tokenizer(text, add_special_tokens=False)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return p + c, len(p)


def trainer_probe_logprobs(model: Any, ids: list[int], n_prompt: int) -> list[float]:
    """Log-probs of ``ids[n_prompt:]`` under the trainer's model (fp32 softmax, no sampling warpers)."""
    import torch

    from rlpost.runtime.modes import inference_mode

    with inference_mode(model):
        x = torch.tensor([ids], device=next(model.parameters()).device)
        logp = model(input_ids=x).logits[0, :-1].float().log_softmax(-1)
        return logp[torch.arange(n_prompt - 1, len(ids) - 1), x[0, n_prompt:]].tolist()
