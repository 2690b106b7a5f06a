"""Process-group setup that must happen before a pipeline builds its TRL config (DeepSpeed on CPU).

HF/TRL trainers run DeepSpeed on GPU without help. On a CPU-only machine accelerate finds no distributed backend,
sets world size 1 on every rank, and DeepSpeed then rejects the batch geometry
(``train_batch_size is not equal to micro_batch_per_gpu * gradient_acc_step * world_size``). The supported path
is: ``DS_ACCELERATOR=cpu``, ``ACCELERATE_USE_DEEPSPEED=true``, a pre-built ``accelerate.PartialState(backend="gloo")``
and ``accelerator_config={"use_configured_state": True}``.

:func:`rlpost.runtime.trl_args.build_trl_args`, through which every pipeline (GRPO, SFT, DivPO's DPO stage)
builds its TRL config, calls :func:`prepare_trainer_runtime` first and passes the returned kwargs through
(``tests/e2e/distributed/test_deepspeed_pipelines.py``, ``test_grpo_distributed.py``).
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

logger = logging.getLogger(__name__)

# torchrun sets these; a plain `python -m rlpost.train` with DeepSpeed gets a one-process group
_SINGLE_PROCESS_ENV = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1"}


def uses_deepspeed(trainer_cfg: Any) -> bool:
    """True when the trainer config carries a DeepSpeed dict (``launch=zero2|zero3|zero3_offload``).

    Example:
        >>> uses_deepspeed({"deepspeed": None}), uses_deepspeed({"deepspeed": {"zero_optimization": {"stage": 2}}})
        (False, True)
    """
    return bool(trainer_cfg.get("deepspeed"))


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def deepspeed_cpu_env(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """Environment variables to add for DeepSpeed on CPU (existing values win).

    Example:
        >>> env = deepspeed_cpu_env({"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"})
        >>> env["DS_ACCELERATOR"], env["ACCELERATE_USE_DEEPSPEED"], "RANK" in env
        ('cpu', 'true', False)
    """
    out = {"DS_ACCELERATOR": "cpu", "ACCELERATE_USE_DEEPSPEED": "true"}
    if "LOCAL_RANK" not in environ:  # not under torchrun: make a one-process group
        out.update({k: v for k, v in _SINGLE_PROCESS_ENV.items() if k not in environ})
        if "MASTER_PORT" not in environ:
            out["MASTER_PORT"] = _free_port()
    return {k: v for k, v in out.items() if k not in environ or k == "ACCELERATE_USE_DEEPSPEED"}


def prepare_trainer_runtime(trainer_cfg: Any) -> dict[str, Any]:
    """Set up the process group for the trainer; returns extra kwargs for ``build_trl_args``.

    On CUDA, or without DeepSpeed, nothing is needed (accelerate handles NCCL and CPU DDP itself) and ``{}`` is
    returned. DeepSpeed on CPU gets the environment of :func:`deepspeed_cpu_env`, a gloo ``PartialState`` and
    ``accelerator_config={"use_configured_state": True}`` so the trainer uses that state.
    """
    import torch

    if not uses_deepspeed(trainer_cfg) or torch.cuda.is_available():
        return {}
    os.environ.update(deepspeed_cpu_env(os.environ))
    from accelerate import PartialState

    state = PartialState(backend="gloo")
    logger.info("DeepSpeed on CPU: gloo process group, rank %d of %d", state.process_index, state.num_processes)
    return {"accelerator_config": {"use_configured_state": True}}
