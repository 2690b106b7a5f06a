"""HFEngine's fast decode path returns the same groups as its ``generate`` path (greedy) and valid samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlpost.rollout.hf import HFEngine
from rlpost.rollout.sampling import SamplingSettings

torch = pytest.importorskip("torch")

PROMPTS = [[{"role": "user", "content": q}] for q in ["What is 2+3?", "Hi", "Compute 17*4, then explain."]]


@pytest.fixture(scope="module")
def model_tok(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval(),
            AutoTokenizer.from_pretrained(tiny_model_dir))


def test_greedy_groups_identical_to_generate_path(model_tok) -> None:
    model, tok = model_tok
    params = SamplingSettings(greedy=True, n=1, max_new_tokens=10, logprobs=True)
    fast = HFEngine(model, tok, max_batch_size=4, autocast_dtype=None, show_progress=False).generate(PROMPTS, params)
    slow = HFEngine(model, tok, max_batch_size=4, autocast_dtype=None, show_progress=False,
                    fast_decode=False).generate(PROMPTS, params)
    for f, s in zip(fast, slow, strict=True):
        assert f.completions == s.completions and f.lengths == s.lengths
        assert f.logprobs == pytest.approx(s.logprobs, abs=1e-4)


def test_sampling_bf16_autocast_gives_n_valid_completions(model_tok) -> None:
    model, tok = model_tok
    params = SamplingSettings(n=3, max_new_tokens=6, temperature=0.7, top_p=0.95, seed=1, logprobs=True)
    groups = HFEngine(model, tok, max_batch_size=6, show_progress=False).generate(PROMPTS, params)
    assert len(groups) == 3
    for g in groups:
        assert len(g.completions) == len(g.logprobs) == len(g.lengths) == 3
        assert all(0 <= n <= 6 for n in g.lengths) and all(lp <= 0 for lp in g.logprobs)
    again = HFEngine(model, tok, max_batch_size=6, show_progress=False).generate(PROMPTS, params)
    assert [g.completions for g in again] == [g.completions for g in groups]  # seeded
