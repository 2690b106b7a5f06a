"""Offline test fixtures: a tiny random Qwen2 model with a byte-level tokenizer (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    import os
    import shutil
    import tempfile

    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
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
    Qwen2ForCausalLM(config).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if out_dir.exists():
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, out_dir)
    return out_dir


def tiny_rows(n: int = 8) -> list[dict[str, str]]:
    """A few arithmetic rows in canonical columns, for unit tests."""
    return [
        {"prompt_id": f"p{i}", "question": f"What is {i} + {i}?", "answer": str(2 * i), "op": "add"} for i in range(n)
    ]


class DigitFractionReward:
    """Test reward with variance even for a random model: the fraction of digit characters in the completion."""

    __name__ = "digits"

    def __call__(self, prompts: Any, completions: list[Any], **_: Any) -> list[float | None]:
        from rlpost.rewards.base import completion_text

        texts = [completion_text(c) for c in completions]
        return [sum(ch.isdigit() for ch in t) / max(1, len(t)) for t in texts]


class HashReward:
    """Deterministic pseudo-random reward in [0, 1) from the completion text: every group has reward variance,
    so a GRPO step on the tiny random model always moves the weights (tests and benchmarks only).

    Example:
        >>> r = HashReward()
        >>> r(prompts=["p", "p"], completions=["a", "a"]) == r(prompts=["q", "q"], completions=["a", "a"])
        True
    """

    __name__ = "hash"

    def __init__(self, delay_s: float = 0.0) -> None:
        # sleeping per call slows a tiny-model step down enough for kill/resume tests to hit mid-training
        self.delay_s = delay_s

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        import hashlib
        import time

        from rlpost.rewards.base import completion_text

        time.sleep(self.delay_s)
        return [int(hashlib.sha256(completion_text(c).encode()).hexdigest()[:8], 16) / 2**32 for c in completions]


class HalfUniformReward(HashReward):
    """:class:`HashReward` on about half of the prompts and a constant 0.5 on the others (chosen by a hash of the
    prompt text), so a known share of groups has equal rewards: tests of dynamic sampling.

    Example:
        >>> r = HalfUniformReward()
        >>> sorted({len(set(r(prompts=[p] * 4, completions=["a", "b", "c", "d"]))) for p in "pqrstuvw"})
        [1, 4]
    """

    __name__ = "half_uniform"

    @staticmethod
    def is_uniform(prompt: Any) -> bool:
        import hashlib

        return int(hashlib.sha256(str(prompt).encode()).hexdigest()[:8], 16) % 2 == 0

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        varied = super().__call__(prompts, completions, **columns)
        return [0.5 if self.is_uniform(p) else v for p, v in zip(prompts, varied, strict=True)]
