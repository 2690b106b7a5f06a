"""Teacher-forced log pi(y|x) at temperature 1: equals a hand computation, and is not the sampler's log-probs."""

from __future__ import annotations

import pytest

PROMPTS = ["<|im_start|>user\nName a city.<|im_end|>\n<|im_start|>assistant\n",
           "<|im_start|>user\nA much longer question about cities and rivers?<|im_end|>\n<|im_start|>assistant\n"]
COMPLETIONS = ["Oslo", "The Rhine, which flows", ""]


@pytest.fixture(scope="module")
def model_tok(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)


def hand_logprobs(model, tok, prompt: str, completion: str) -> list[float]:
    """One unpadded fp32 forward: log_softmax of the logits before each completion token, picked at that token."""
    import torch

    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    ids = tok(prompt + completion, add_special_tokens=False)["input_ids"]
    assert ids[:len(prompt_ids)] == prompt_ids
    with torch.no_grad():
        logp = model(torch.tensor([ids])).logits[0].double().log_softmax(-1)
    return [logp[t - 1, ids[t]].item() for t in range(len(prompt_ids), len(ids))]


def test_completion_logprobs_equal_a_hand_computation_batched_and_padded(model_tok):
    from rlpost.rollout.teacher_forcing import completion_logprobs

    model, tok = model_tok
    prompts = [PROMPTS[0], PROMPTS[1], PROMPTS[0]]
    got = completion_logprobs(model, tok, prompts, COMPLETIONS, batch_size=2, autocast_dtype=None)
    want = [hand_logprobs(model, tok, p, c) for p, c in zip(prompts, COMPLETIONS, strict=True)]
    assert [len(g) for g in got] == [4, 22, 0]
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, abs=1e-5)
    # bf16 autocast for the body, fp32 head: the same numbers to bf16 precision
    fast = completion_logprobs(model, tok, prompts, COMPLETIONS, batch_size=3)
    assert sum(fast[1]) == pytest.approx(sum(want[1]), abs=0.05)


def letters_only(model, tok):
    """Give the LM head a bias that rules out every token but ASCII letters, space and the stop token.

    Samples then decode to text that re-encodes to the same tokens, so sampled and teacher-forced tokens agree.
    """
    import torch

    allowed = {tok.convert_tokens_to_ids(t) for t in ["Ġ", tok.eos_token, *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"]}
    head = torch.nn.Linear(model.lm_head.in_features, model.lm_head.out_features, bias=True)
    with torch.no_grad():
        head.weight.copy_(model.lm_head.weight)
        head.bias.fill_(-1e4)
        head.bias[sorted(allowed)] = 0.0
    model.lm_head = head
    return model


def test_policy_logprobs_differ_from_tempered_top_p_sampling_logprobs(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.rollout.hf import HFEngine
    from rlpost.rollout.sampling import SamplingSettings
    from rlpost.rollout.teacher_forcing import completion_logprobs

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = letters_only(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tok)
    messages = [[{"role": "user", "content": "Name a city."}]]
    engine = HFEngine(model, tok, autocast_dtype=None, show_progress=False)
    prompt = tok.apply_chat_template(messages[0], tokenize=False, add_generation_prompt=True)

    def compare(**sampling):
        params = SamplingSettings(n=6, max_new_tokens=8, seed=3, logprobs=True, **sampling)
        group = engine.generate(messages, params)[0]
        forced = completion_logprobs(model, tok, [prompt] * 6, group.completions, autocast_dtype=None)
        assert [len(f) for f in forced] == group.lengths and any(group.lengths)
        return [(sum(f), s) for f, s in zip(forced, group.logprobs, strict=True) if f]

    pairs = compare(temperature=1.0, top_p=1.0)
    assert [f for f, _ in pairs] == pytest.approx([s for _, s in pairs], abs=1e-4)  # at T=1, no top-p: the same
    # the tempered, truncated sampler puts more mass on what it drew than the policy does (about 6 nats here)
    assert all(f < s - 1.0 for f, s in compare(temperature=0.5, top_p=0.5))
