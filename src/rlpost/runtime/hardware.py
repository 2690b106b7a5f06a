"""Which precision this hardware runs fast: the one rule behind every ``auto`` dtype in rlpost.

bf16 is fast only where the hardware computes it natively: on CPU, AVX-512-BF16 or AMX (e.g. Intel Sapphire Rapids,
AMD Zen 4); on an AVX2 CPU it is emulated and about 11x slower than fp32 (``F.linear`` 2560x576 @ 576x1536: 87.7 ms
fp32 vs 1003 ms bf16, docs/performance.md). ``auto`` therefore means

- CPU: ``bfloat16`` where the CPU has native bf16 (x86: AVX-512-BF16 or AMX, as torch reports), on other CPUs
  (ARM) where a short matmul probe shows bf16 clearly faster than fp32, ``float32`` otherwise;
- CUDA: ``bfloat16`` where the GPU supports it, else ``float16``;
- any other device: ``float32``.

An explicit ``bfloat16`` on a CUDA GPU without bf16 is a :class:`~rlpost.errors.ConfigError` naming the key; on a
CPU without native bf16 it is allowed (the user asked for it) with a logged warning that it is emulated and slow.
Every benchmark records :func:`hardware_facts` next to its figures.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)

DTYPES = ("bfloat16", "float16", "float32")
ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
# bf16 must beat fp32 by this factor in the probe (emulated bf16 loses by ~10x, so the margin only guards noise)
PROBE_MARGIN = 0.8


def cpu_capability() -> str:
    """The SIMD level torch dispatches its CPU kernels to: ``AVX512``, ``AVX2``, ``SVE256``, ``DEFAULT``, ..."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def _cpu_flag(name: str) -> bool:
    import torch

    probe = getattr(torch.cpu, name, None)
    try:
        return bool(probe()) if probe is not None else False
    except (RuntimeError, AttributeError):  # private torch API: absent or failing on some builds
        return False


def cpu_native_bf16() -> bool:
    """True when the CPU has bf16 instructions (AVX-512-BF16 or AMX) and torch dispatches to AVX-512 kernels.

    ``ATEN_CPU_CAPABILITY=avx2`` (torch's switch to run an AVX-512 CPU as an AVX2 one) makes this False.
    """
    if not cpu_capability().upper().startswith("AVX512"):
        return False
    return _cpu_flag("_is_avx512_bf16_supported") or _cpu_flag("_is_amx_tile_supported")


@functools.lru_cache(maxsize=1)
def bf16_probe_faster() -> bool:
    """Time ``F.linear`` (512x576 @ 576x1536, a GRPO-sized matmul) in fp32 and bf16, interleaved, best of 5 each
    (well under a second); True if bf16 is clearly faster. Used on non-x86 CPUs only; cached for the process.
    """
    import time

    import torch

    x = torch.randn(512, 576)
    w = torch.randn(1536, 576)
    pairs = {torch.float32: (x, w), torch.bfloat16: (x.bfloat16(), w.bfloat16())}
    best = dict.fromkeys(pairs, float("inf"))
    with torch.inference_mode():
        for a, b in pairs.values():
            torch.nn.functional.linear(a, b)  # warm-up
        for _ in range(5):
            for dtype, (a, b) in pairs.items():
                start = time.perf_counter()
                torch.nn.functional.linear(a, b)
                best[dtype] = min(best[dtype], time.perf_counter() - start)
    return best[torch.bfloat16] < PROBE_MARGIN * best[torch.float32]


def cpu_bf16_fast() -> bool:
    """bf16 pays on this CPU: native instructions; on a non-x86 CPU (torch reports no bf16 flag there), the probe.

    An x86 CPU without AVX-512-BF16/AMX emulates bf16 (~10x slower at GRPO's matmul sizes), so it gets no probe: a
    timing on a shared, busy machine is noisy, and the rule should not change from run to run.
    """
    if cpu_native_bf16():
        return True
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
        return False
    return bf16_probe_faster()


def has_native_bf16(device_type: str) -> bool:
    """Native bf16 on ``device_type`` (``cpu``: AVX-512-BF16/AMX; ``cuda``: ``torch.cuda.is_bf16_supported()``)."""
    if device_type == "cpu":
        return cpu_native_bf16()
    if device_type == "cuda":
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return False


def default_device_type() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (where rlpost trains and evaluates)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _normalise(requested: Any, key: str) -> str | None:
    if requested is None or (isinstance(requested, str) and requested.lower() in ("null", "none", "")):
        return None
    if isinstance(requested, bool):  # the trainer's bf16: true/false
        return "bfloat16" if requested else "float32"
    name = str(requested).lower().removeprefix("torch.")
    name = ALIASES.get(name, name)
    if name != "auto" and name not in DTYPES:
        raise ConfigError(f"{key}={requested!r}: unknown dtype; use auto, bfloat16, float16, float32 or null")
    return name


def _describe(device_type: str) -> str:
    if device_type == "cpu":
        return f"CPU {cpu_capability()}, native bf16: {'yes' if cpu_native_bf16() else 'no'}"
    if device_type == "cuda":
        import torch

        return f"GPU {torch.cuda.get_device_name()}, bf16: {'yes' if has_native_bf16('cuda') else 'no'}"
    return device_type


@functools.cache
def _warn_once(message: str) -> None:
    logger.warning(message)


def resolve_dtype(requested: str | bool | None, *, device_type: str, key: str) -> str | None:
    """The concrete compute dtype for a dtype setting: ``bfloat16``, ``float16``, ``float32`` or None (off).

    Args:
        requested: ``auto``, ``bfloat16``/``bf16``, ``float16``/``fp16``, ``float32``/``fp32``, ``null``/None, or a
            bool (a trainer's ``bf16: true|false``).
        device_type: ``cpu``, ``cuda``, ...
        key: the config key, named in errors and warnings (e.g. ``eval.autocast_dtype``).

    Raises:
        ConfigError: an unknown dtype, or bf16 on a CUDA GPU without bf16.

    >>> resolve_dtype("fp32", device_type="cpu", key="eval.autocast_dtype")
    'float32'
    >>> resolve_dtype(None, device_type="cpu", key="eval.autocast_dtype") is None
    True
    """
    name = _normalise(requested, key)
    shown = str(requested).lower() if isinstance(requested, bool) else requested  # as written in YAML
    if name == "auto":
        if device_type == "cuda":
            return "bfloat16" if has_native_bf16("cuda") else "float16"
        if device_type == "cpu":
            return "bfloat16" if cpu_bf16_fast() else "float32"
        return "float32"
    if name == "bfloat16" and device_type == "cuda" and not has_native_bf16("cuda"):
        raise ConfigError(f"{key}={shown}: this GPU has no bf16 support ({_describe('cuda')}); use {key}=auto "
                          "(float16 here) or float16")
    if name == "bfloat16" and device_type == "cpu" and not cpu_bf16_fast():
        _warn_once(f"{key}={shown}: this CPU has no native bf16 ({_describe('cpu')}); bf16 is emulated, about "
                   f"10x slower than float32. {key}=auto picks float32 here")
    return name


def autocast_enabled(dtype: str | None, param_dtype: Any) -> bool:
    """Autocast an fp32 model only to a lower precision (``float32`` or None means run as is)."""
    import torch

    return dtype in ("bfloat16", "float16") and param_dtype == torch.float32


def autocast_for(model: Any, dtype: str | None) -> Any:
    """``torch.autocast`` of an fp32 ``model`` to the resolved ``dtype``; a disabled context when it would not apply
    (:func:`autocast_enabled`). The one place evaluation, generation and scoring pick their autocast."""
    import torch

    enabled = autocast_enabled(dtype, model.dtype)
    return torch.autocast(model.device.type, dtype=getattr(torch, dtype) if enabled else torch.bfloat16,
                          enabled=enabled)


def hardware_facts(device_type: str | None = None) -> dict[str, Any]:
    """What every benchmark records next to its figures: CPU model and SIMD level, native bf16, device, threads."""
    import torch

    device_type = device_type or default_device_type()
    facts: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cpu_capability": cpu_capability(),
        "cpu_native_bf16": cpu_native_bf16(),
        "cpu_auto_dtype": resolve_dtype("auto", device_type="cpu", key="auto"),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device_type,
    }
    if device_type == "cuda":
        facts.update(gpu=torch.cuda.get_device_name(), gpu_bf16=has_native_bf16("cuda"))
    return facts


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_choices(choices: dict[str, tuple[Any, str | None]], device_type: str) -> str:
    """One log line: ``key=requested -> resolved`` for each setting, and the hardware fact behind them.

    >>> describe_choices({"eval.autocast_dtype": ("auto", "float32")}, "other")
    'precision (other): eval.autocast_dtype=auto -> float32'
    """
    def shown(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    parts = [f"{k}={shown(req)} -> {res}" if shown(req) != str(res) else f"{k}={res}"
             for k, (req, res) in choices.items()]
    return f"precision ({_describe(device_type)}): " + ", ".join(parts)


def peak_memory() -> dict[str, Any]:
    """Peak memory of the device this process trained on, in MiB: GPU memory allocated where this process put
    tensors on the GPU, else the process's peak resident memory (a CUDA machine running a CPU-only job, or one that
    only initialised CUDA, reports the CPU figure)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized() and torch.cuda.max_memory_allocated() > 0:
        return {"peak_memory_mb": torch.cuda.max_memory_allocated() / 2**20, "peak_memory_device": "cuda"}
    import resource

    return {"peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak_memory_device": "cpu"}
