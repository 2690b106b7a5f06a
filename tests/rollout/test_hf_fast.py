"""HFEngine returns the same groups as plain ``model.generate`` (greedy) and valid samples."""

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


def generate_greedy(model, tok, prompt, max_new_tokens: int) -> tuple[str, float, int]:
    """The oracle: ``model.generate`` on one prompt; completion, summed log-prob and length up to the stop token."""
    from rlpost.rollout.sampling import stop_ids_of

    text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
                             top_k=None, pad_token_id=tok.pad_token_id, return_dict_in_generate=True,
                             output_scores=True)
    row = out.sequences[0, enc["input_ids"].shape[1]:].tolist()
    stops = stop_ids_of(model, tok)
    length = next((t for t, tid in enumerate(row) if tid in stops), len(row))
    logp = sum(float(s[0].float().log_softmax(-1)[row[t]]) for t, s in enumerate(out.scores[:length]))
    return tok.decode(row[:length], skip_special_tokens=True), logp, length


def test_greedy_groups_identical_to_model_generate(model_tok) -> None:
    model, tok = model_tok
    params = SamplingSettings(greedy=True, n=1, max_new_tokens=10, logprobs=True)
    groups = HFEngine(model, tok, max_batch_size=4, autocast_dtype=None, show_progress=False).generate(PROMPTS, params)
    for group, prompt in zip(groups, PROMPTS, strict=True):
        text, logp, length = generate_greedy(model, tok, prompt, params.max_new_tokens)
        assert group.completions == [text] and group.lengths == [length]
        assert group.logprobs == pytest.approx([logp], abs=1e-4)


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
