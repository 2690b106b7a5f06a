"""Regression: generation leaves the caller's tokenizer as it found it (padding and truncation side).

The HF engine and GRPO's ``rollout.engine=rlpost`` decode loop set ``padding_side = "left"`` on the tokenizer they
were handed, the latter on the trainer's own tokenizer, and never set it back: a right-padding tokenizer came out
left-padding after an evaluation or a rollout.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rlpost.methods.grpo.rollout_func import rlpost_rollout
from rlpost.rollout.hf import HFEngine
from rlpost.rollout.sampling import SamplingSettings

torch = pytest.importorskip("torch")

PROMPTS = [[{"role": "user", "content": q}] for q in ["What is 2+3?", "Compute 17*4."]]


@pytest.fixture()
def model_tok(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.padding_side, tok.truncation_side = "right", "right"
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32), tok


def test_hf_engine_restores_padding_side(model_tok) -> None:
    model, tok = model_tok
    engine = HFEngine(model.eval(), tok, max_batch_size=8, autocast_dtype=None, show_progress=False)
    groups = engine.generate(PROMPTS, SamplingSettings(n=2, max_new_tokens=4, temperature=1.0, seed=1))
    assert [len(g.completions) for g in groups] == [2, 2]
    assert (tok.padding_side, tok.truncation_side) == ("right", "right")


def test_rlpost_rollout_restores_the_trainers_tokenizer_and_train_mode(model_tok) -> None:
    model, tok = model_tok
    model.train()
    trainer = SimpleNamespace(
        model=model, processing_class=tok, accelerator=SimpleNamespace(unwrap_model=lambda m: m),
        repetition_penalty=1.0, min_p=None, args=SimpleNamespace(bf16=False, fp16=False))
    out = rlpost_rollout(PROMPTS + PROMPTS[:1], trainer, SamplingSettings(temperature=1.0, max_new_tokens=4))
    assert len(out["completion_ids"]) == 3 and all(len(ids) > 0 for ids in out["prompt_ids"])
    assert (tok.padding_side, tok.truncation_side) == ("right", "right")
    assert model.training
