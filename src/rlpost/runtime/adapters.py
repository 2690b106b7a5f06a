"""The one adapter merge and best-adapter restore; ``python -m rlpost.runtime.adapters ADAPTER_DIR OUT_DIR``.

:func:`merged` folds a peft model's LoRA weights into its base (loading an adapter directory as a policy, DivPO's
round policy, the CLI export); :func:`restore_adapter` puts saved weights back into a live model (SFT's best
adapter). The merged directory is a plain HF checkpoint (``model=hf model.path=OUT_DIR``), usable without peft.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)


def merged(model: Any) -> Any:
    """``model`` with its adapter folded into the base weights (a plain transformers model); other models as is."""
    from peft import PeftModel

    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def load_merged(adapter_dir: str | Path, **load_kwargs: Any) -> Any:
    """The base model named by ``adapter_dir``'s ``adapter_config.json`` (loaded with ``load_kwargs``, e.g.
    ``dtype``) with the adapter merged in."""
    from peft import AutoPeftModelForCausalLM

    return merged(AutoPeftModelForCausalLM.from_pretrained(adapter_dir, **load_kwargs))


def restore_adapter(model: Any, best_dir: Path) -> None:
    """Put the weights saved in ``best_dir`` back into ``model``: a LoRA adapter, or the full model (``peft=none``)."""
    from peft import PeftModel, set_peft_model_state_dict

    if isinstance(model, PeftModel):
        set_peft_model_state_dict(model, load_adapter_weights(best_dir))
    else:  # full fine-tuning: adapter_best holds a whole checkpoint (possibly sharded, tied weights left out)
        best = type(model).from_pretrained(best_dir, dtype=model.dtype)
        model.load_state_dict(best.state_dict())


def load_adapter_weights(adapter_dir: Path) -> dict[str, Any]:
    """Read a saved adapter's state dict (safetensors, else the legacy .bin)."""
    if (adapter_dir / "adapter_model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(adapter_dir / "adapter_model.safetensors")
    import torch

    return torch.load(adapter_dir / "adapter_model.bin", map_location="cpu")


def merge_adapter(adapter_dir: str | Path, out_dir: str | Path, tokenizer_dir: str | Path | None = None) -> Path:
    """Merge ``adapter_dir`` (peft ``save_pretrained`` output) into its base model and save to ``out_dir``.

    Args:
        adapter_dir: directory with ``adapter_config.json`` (its ``base_model_name_or_path`` is loaded).
        out_dir: output directory (model + tokenizer).
        tokenizer_dir: where to take the tokenizer from (default: the adapter dir, else the base model).

    Raises:
        ConfigError: ``adapter_dir`` holds no adapter.
    """
    from peft import PeftConfig
    from transformers import AutoTokenizer

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_config.json (not a peft adapter directory)")
    load_merged(adapter_dir).save_pretrained(out_dir)
    tok_src = tokenizer_dir or (adapter_dir if (adapter_dir / "tokenizer_config.json").is_file()
                                else PeftConfig.from_pretrained(adapter_dir).base_model_name_or_path)
    AutoTokenizer.from_pretrained(tok_src).save_pretrained(out_dir)
    logger.info("merged %s into %s", adapter_dir, out_dir)
    return out_dir


def main(argv: list[str]) -> int:
    """CLI: ``ADAPTER_DIR OUT_DIR``."""
    parser = argparse.ArgumentParser(prog="python -m rlpost.runtime.adapters", description=__doc__)
    parser.add_argument("adapter_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        merge_adapter(args.adapter_dir, args.out_dir)
    except ConfigError as err:
        parser.exit(2, f"rlpost: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
