"""The shared-prefill decode loop matches ``model.generate`` and returns consistent tokens and log-probs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlpost.rollout.decode import decode, select_next, warp_logits
from rlpost.rollout.sampling import SamplingSettings

torch = pytest.importorskip("torch")

PROMPTS = ["What is 2+3?", "Hi", "Compute 17*4 and explain it at length."]


@pytest.fixture(scope="module")
def model_tok(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    return model, tok


def _encode(tok, prompts):
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    return tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def test_greedy_matches_generate_token_for_token(model_tok) -> None:
    model, tok = model_tok
    enc = _encode(tok, PROMPTS)
    with torch.inference_mode():
        ref = model.generate(**enc, max_new_tokens=12, do_sample=False, temperature=None, top_p=None, top_k=None,
                             pad_token_id=tok.pad_token_id, eos_token_id=[])
        out = decode(model, enc["input_ids"], enc["attention_mask"], SamplingSettings(greedy=True, max_new_tokens=12,
                     n=2), stop_ids=[])
    new = ref[:, enc["input_ids"].shape[1]:].tolist()
    assert [out.tokens[2 * i] for i in range(3)] == new
    assert [out.tokens[2 * i + 1] for i in range(3)] == new  # n copies share the prefill


def test_stop_token_ends_row_and_drops_it(model_tok) -> None:
    model, tok = model_tok
    enc = _encode(tok, PROMPTS)
    with torch.inference_mode():
        free = decode(model, enc["input_ids"], enc["attention_mask"], SamplingSettings(greedy=True, max_new_tokens=10),
                      stop_ids=[])
        stop_tok = free.tokens[0][3]  # make row 0 stop at its 4th token
        out = decode(model, enc["input_ids"], enc["attention_mask"], SamplingSettings(greedy=True, max_new_tokens=10),
                     stop_ids=[stop_tok])
    first = free.tokens[0].index(stop_tok)
    assert out.tokens[0] == free.tokens[0][: first + 1] and out.stopped[0]
    for r in (1, 2):  # other rows continue unchanged after row 0 left the batch
        cut = free.tokens[r].index(stop_tok) + 1 if stop_tok in free.tokens[r] else 10
        assert out.tokens[r] == free.tokens[r][:cut]
    assert out.row_steps < free.row_steps


def test_sampling_counts_lengths_and_logprobs(model_tok) -> None:
    model, tok = model_tok
    enc = _encode(tok, PROMPTS)
    params = SamplingSettings(n=4, max_new_tokens=8, temperature=0.7, top_p=0.9, top_k=20)
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        out = decode(model, enc["input_ids"], enc["attention_mask"], params, [tok.eos_token_id], generator=gen)
        again = decode(model, enc["input_ids"], enc["attention_mask"], params, stop_ids=[tok.eos_token_id],
                       generator=torch.Generator().manual_seed(0))
    assert len(out.tokens) == 12 and out.tokens == again.tokens
    assert all(1 <= len(t) <= 8 and len(t) == len(lp) for t, lp in zip(out.tokens, out.token_logprobs, strict=True))
    # teacher-forced recomputation of row 5 (prompt 1, sample 1) under the same warped distribution
    row, prompt = 5, 1
    ids = torch.cat([enc["input_ids"][prompt], torch.tensor(out.tokens[row])])[None]
    mask = torch.cat([enc["attention_mask"][prompt], torch.ones(len(out.tokens[row]), dtype=torch.long)])[None]
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[0]
    start = enc["input_ids"].shape[1] - 1
    ref = [warp_logits(logits[start + i][None].float(), params).log_softmax(-1)[0, t].item()
           for i, t in enumerate(out.tokens[row])]
    assert out.token_logprobs[row] == pytest.approx(ref, abs=1e-4)


def test_top_k_top_p_keep_only_allowed_tokens() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]]).repeat(200, 1)
    tokens, logp = select_next(logits, SamplingSettings(top_k=2), torch.Generator().manual_seed(0))
    assert set(tokens.tolist()) <= {2, 3} and bool((logp <= 0).all())
    tokens, _ = select_next(logits, SamplingSettings(top_p=0.5), torch.Generator().manual_seed(0))
    assert set(tokens.tolist()) <= {2, 3}
    tokens, logp = select_next(logits, SamplingSettings(greedy=True))
    assert set(tokens.tolist()) == {3}
