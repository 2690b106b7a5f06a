"""Evaluation sampling is seeded privately: same seed -> same samples, and the caller's torch RNG is untouched.

During training, TRL seeds each rank differently; an evaluation (early stopping, guards) that reseeded the global
RNG would leave every rank in the same state, and the halves of a group split across ranks would then sample
identical completions (tests/e2e/distributed/test_eval_rng.py checks that end to end on 2 processes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlpost.rollout.hf import HFEngine
from rlpost.rollout.sampling import SamplingSettings

torch = pytest.importorskip("torch")

PROMPTS = [[{"role": "user", "content": q}] for q in ["What is 2+3?", "Compute 17*4."]]


@pytest.fixture(scope="module")
def model_tok(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval(),
            AutoTokenizer.from_pretrained(tiny_model_dir))


def test_generate_leaves_the_global_rng_untouched_and_is_seeded(model_tok) -> None:
    model, tok = model_tok
    engine = HFEngine(model, tok, max_batch_size=8, autocast_dtype=None, show_progress=False)
    params = SamplingSettings(n=3, max_new_tokens=6, temperature=1.0, seed=5)

    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = engine.generate(PROMPTS, params)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's stream continues as if nothing ran

    torch.manual_seed(999)  # a different global state does not change the seeded samples
    again = engine.generate(PROMPTS, params)
    assert [g.completions for g in again] == [g.completions for g in first]
    other = engine.generate(PROMPTS, SamplingSettings(n=3, max_new_tokens=6, temperature=1.0, seed=6))
    assert [g.completions for g in other] != [g.completions for g in first]


def test_evaluation_leaves_the_global_rng_untouched(model_tok) -> None:
    from omegaconf import OmegaConf

    from rlpost.data.sources.arith import generate_arithmetic
    from rlpost.data.templates import ChatTemplate
    from rlpost.eval.tasks.math_qa import evaluate_model

    model, tok = model_tok
    eval_cfg = OmegaConf.create({"kind": "math_qa", "k": 2,
                                 "sampling": {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4},
                                 "answer_format": "auto", "group_by": None, "batch_size": 8, "autocast_dtype": None})
    torch.manual_seed(7)
    state = torch.get_rng_state()
    metrics = evaluate_model(model, tok, generate_arithmetic(2).to_list(), ChatTemplate(), eval_cfg, None, seed=3)
    assert "accuracy" in metrics
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.gpu
def test_generate_on_cuda_leaves_the_cuda_rng_untouched(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).cuda().eval()
    engine = HFEngine(model, AutoTokenizer.from_pretrained(tiny_model_dir), autocast_dtype=None, show_progress=False)
    params = SamplingSettings(n=3, max_new_tokens=6, seed=5)
    torch.manual_seed(123)
    cpu, cuda = torch.get_rng_state(), torch.cuda.get_rng_state_all()
    first = engine.generate(PROMPTS, params)
    assert torch.equal(torch.get_rng_state(), cpu)
    assert all(torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), cuda, strict=True))
    assert [g.completions for g in engine.generate(PROMPTS, params)] == [g.completions for g in first]
