"""A tiny random Qwen2 model with a byte-level tokenizer, built offline (``model=tiny_random``, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.io import write_dir

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_byte_tokenizer() -> Any:
    """Qwen2-style byte-level BPE with no merges: 256 byte tokens + 3 specials; round-trips any text."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    vocab = {ch: i for i, ch in enumerate(sorted(ByteLevel.alphabet()))}
    for special in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        vocab[special] = len(vocab)
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def make_tiny_model_dir(out_dir: str | Path, hidden_size: int = 16, num_layers: int = 2, seed: int = 0) -> Path:
    """Random 2-layer Qwen2 + byte tokenizer saved like a hub checkpoint (written atomically)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = make_byte_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=4 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    return write_dir(Path(out_dir), lambda tmp: (model.save_pretrained(tmp), tokenizer.save_pretrained(tmp)),
                     replace=False, shared=True)
