"""Export a LoRA adapter merged into its base model: ``python -m rlpost.runtime.adapters ADAPTER_DIR OUT_DIR``.

The merged directory is a plain HF checkpoint (``model=hf model.path=OUT_DIR``), usable without peft.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)


def merge_adapter(adapter_dir: str | Path, out_dir: str | Path, tokenizer_dir: str | Path | None = None) -> Path:
    """Merge ``adapter_dir`` (peft ``save_pretrained`` output) into its base model and save to ``out_dir``.

    Args:
        adapter_dir: directory with ``adapter_config.json`` (its ``base_model_name_or_path`` is loaded).
        out_dir: output directory (model + tokenizer).
        tokenizer_dir: where to take the tokenizer from (default: the adapter dir, else the base model).

    Raises:
        ConfigError: ``adapter_dir`` holds no adapter.
    """
    from peft import AutoPeftModelForCausalLM, PeftConfig
    from transformers import AutoTokenizer

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_config.json (not a peft adapter directory)")
    merged = AutoPeftModelForCausalLM.from_pretrained(adapter_dir).merge_and_unload()
    merged.save_pretrained(out_dir)
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
