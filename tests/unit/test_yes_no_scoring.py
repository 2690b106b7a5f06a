"""Label-token finding (leading-space variants, multi-token errors), AUC metrics errors and the batched scorer."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError, DataError
from rlpost.eval.binary import binary_metrics
from rlpost.eval.yes_no import YesNoScorer, find_label_pair, find_label_token_id


class FakeTokenizer:
    """encode() from a table: 'Yes' is one token only with a leading space, 'No' both ways, 'Maybe' never."""

    table = {"Yes": [5, 6], " Yes": [7], "No": [8], " No": [9], "Maybe": [1, 2], " Maybe": [3, 4],
             "Nah": [8, 1], " Nah": [9, 1]}

    def encode(self, text, add_special_tokens=False):
        return self.table[text]


@pytest.mark.parametrize(("word", "after_space", "expected"), [
    ("No", True, 8),     # prompt ends with "\n": the bare word wins
    ("No", False, 9),    # prompt ends with ":": the leading-space variant wins
    ("Yes", True, 7),    # bare "Yes" is two tokens: fall back to the single-token " Yes"
    ("Yes", False, 7),
])
def test_label_token_prefers_variant_matching_the_prompt_end(word, after_space, expected):
    assert find_label_token_id(FakeTokenizer(), word, after_space) == expected


def test_multi_token_label_errors_unless_first_token_requested():
    with pytest.raises(ConfigError, match="'Maybe' is several tokens"):
        find_label_token_id(FakeTokenizer(), "Maybe", after_space=False)
    assert find_label_token_id(FakeTokenizer(), "Maybe", after_space=False, multi_token="first") == 3
    with pytest.raises(ConfigError, match="start with the same token id 8"):
        find_label_pair(FakeTokenizer(), ("No", "Nah"), after_space=False, multi_token="first")


def test_byte_tokenizer_single_characters_are_single_tokens():
    from rlpost.testing import make_byte_tokenizer

    tok = make_byte_tokenizer()
    assert find_label_token_id(tok, "@", after_space=True) == tok.encode("@")[0]
    with pytest.raises(ConfigError, match="several tokens"):
        find_label_token_id(tok, "Yes", after_space=True)


def test_metrics_values_and_single_class_error():
    m = binary_metrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3])
    assert m["auc"] == 1.0 and m["accuracy"] == 1.0 and 0 < m["log_loss"] < 0.3
    with pytest.raises(DataError, match="valid: all 3 labels are 0; AUC is undefined"):
        binary_metrics([0, 0, 0], [0.2, 0.4, 0.6], split="valid")
    with pytest.raises(DataError, match="2 labels but 1 scores"):
        binary_metrics([0, 1], [0.5])


def test_scorer_probabilities_batch_invariant_and_per_prompt_labels(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = ["short prompt\n", "a much longer prompt with more words in it:", "x\n"]
    one = YesNoScorer("Y", "N", batch_size=1).score(model, tok, prompts)
    three = YesNoScorer("Y", "N", batch_size=3).score(model, tok, prompts)
    assert all(0 < s < 1 for s in one)
    assert one == pytest.approx(three, abs=1e-4)  # left padding keeps the answer position at -1
    swapped = YesNoScorer("Y", "N").score(model, tok, prompts, label_words=[("N", "Y")] * 3)
    assert [1 - s for s in swapped] == pytest.approx(one, abs=1e-5)
    assert tok.padding_side == AutoTokenizer.from_pretrained(tiny_model_dir).padding_side
