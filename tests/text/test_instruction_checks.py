"""IFEval checkers: offline NLTK, agreement with the reference package, bad constraints named in one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rlpost.errors import DataError
from rlpost.text.instruction_checks import check_response, registry, seeded_draws, validate_constraints

IFEVAL = Path(os.environ.get("RLPOST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")) / \
    "ifeval" / "input_data.jsonl"

# A fixed set of responses exercising the checkers' branches (case, commas, JSON, sections, P.S., quotes, ...).
RESPONSES = [
    "hello world. this is all lowercase. no commas here",
    "HELLO WORLD, THIS IS ALL CAPITALS.",
    '```json\n{"answer": "yes", "reason": "short"}\n```',
    "<<A Title>>\n\n*highlighted part* and *another one*\n\nSECTION 1\nfirst\nSECTION 2\nsecond\n\nP.S. thanks",
    '"Wrapped in quotes, with a comma."',
    "* one\n* two\n* three\n\n***\n\nsecond paragraph [name] [address]\n\nIs there anything else I can help with?",
    "My answer is yes.",
    "Response 1\n******\nResponse 2",
    "Ceci est une réponse entièrement en français, sans anglais du tout.",
    "",
]


def _seeded(cls):
    """The reference checker class, with rlpost's seeding of random draws (IFEval draws a value for an invalid
    kwarg, e.g. its own row with ``letter: "#"``): both sides then make the same draw."""

    class Seeded(cls):
        def build_description(self, **kwargs):
            if "prompt" in kwargs and len(kwargs) == 1:
                return super().build_description(**kwargs)
            with seeded_draws(self.id, kwargs):
                return super().build_description(**kwargs)

    return Seeded


def _reference(response, ids, kwargs, prompt):
    from if_verifiable.common import evaluate_instructions
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    seeded = {k: _seeded(v) for k, v in INSTRUCTION_DICT.items()}
    results, scores = evaluate_instructions(response, ids, kwargs, prompt, seeded)
    return [(r.strict_pass, r.loose_pass) for r in results], scores


def _assert_agree(rows):
    """rlpost's per-instruction verdicts and prompt scores equal the reference's on every (row, response)."""
    compared = 0
    for row in rows:
        ids, kwargs, prompt = row["instruction_id_list"], row["kwargs"], row["prompt"]
        for response in RESPONSES + [prompt, prompt.lower() + "\n\nP.S. done"]:
            ours = check_response(response, ids, kwargs, prompt)
            ref, scores = _reference(response, ids, kwargs, prompt)
            assert all(c.error is None for c in ours), [c.error for c in ours]
            if not response.strip():  # the reference returns no per-instruction rows for an empty response
                assert not any(c.strict or c.loose for c in ours) and scores.binary_strict == 0.0
                continue
            assert [(c.strict, c.loose) for c in ours] == ref, (ids, response[:60])
            assert float(all(c.strict for c in ours)) == scores.binary_strict
            assert float(all(c.loose for c in ours)) == scores.binary_loose
            compared += 1
    return compared


def test_all_25_ifeval_instruction_types_are_known():
    assert len(registry()) == 25
    assert {"punctuation:no_comma", "length_constraints:number_sentences", "change_case:capital_word_frequency",
            "detectable_format:json_format", "language:response_language"} <= set(registry())


def test_nltk_tokenizers_work_offline_from_the_packaged_model(tmp_path, monkeypatch):
    import nltk

    from rlpost.text.nltk_offline import ensure_punkt_tab

    target = ensure_punkt_tab(tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["abbrev_types.txt", "collocations.tab", "ortho_context.tab",
                                                        "sent_starters.txt"]
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # only our folder: no other NLTK data can be found
    from nltk.tokenize.punkt import PunktTokenizer

    assert PunktTokenizer("english").tokenize("Dr. Smith arrived. He sat down.") == ["Dr. Smith arrived.",
                                                                                     "He sat down."]
    assert nltk.word_tokenize("HELLO there, WORLD") == ["HELLO", "there", ",", "WORLD"]


def test_checks_agree_with_the_reference_package_on_generated_rows():
    from rlpost.data.sources.constraints import generate_constraint_prompts

    ds = generate_constraint_prompts(80, seed=3, max_constraints=3)
    rows = [{"instruction_id_list": r["instruction_id_list"], "kwargs": json.loads(r["kwargs"]),
             "prompt": r["question"]} for r in ds]
    assert len({i for r in rows for i in r["instruction_id_list"]}) == 25  # every type is exercised
    assert _assert_agree(rows) > 600


@pytest.mark.skipif(not IFEVAL.is_file(), reason="IFEval data folder not available")
def test_checks_agree_with_the_reference_package_on_ifeval_prompts():
    rows = [json.loads(line) for line in IFEVAL.read_text().splitlines()]
    assert len(rows) == 541
    assert _assert_agree(rows) > 5000


def test_strict_and_loose_follow_the_paper():
    # loose drops the first line (a preamble) and the markdown stars
    [check] = check_response("Sure!\nhello, world", ["punctuation:no_comma"], [{}])
    assert (check.strict, check.loose) == (False, True)  # "Sure!" alone (last line dropped) has no comma
    [check] = check_response("hello, world\nand, more", ["punctuation:no_comma"], [{}])
    assert (check.strict, check.loose) == (False, False)
    [check] = check_response("Sure! Here it is:\n*hello world*", ["detectable_format:title"], [{}])
    assert (check.strict, check.loose) == (False, False)
    [check] = check_response("Here you go:\nall lowercase here", ["change_case:english_lowercase"], [{}])
    assert (check.strict, check.loose) == (False, True)


def test_unknown_ids_and_bad_kwargs_fail_the_constraint_with_an_error():
    ok, unknown, bad = check_response("a b c", ["punctuation:no_comma", "made:up", "length_constraints:number_words"],
                                      [{}, {}, {"num_wordz": 3}])
    assert ok.strict and ok.error is None
    assert not unknown.strict and "unknown instruction id 'made:up'" in unknown.error
    assert not bad.strict and "do not match" in bad.error and "num_wordz" in bad.error


@pytest.mark.parametrize(("ids", "kwargs", "message"), [
    (["made:up"], [{}], "data.jsonl: row 3: constraint 0 (made:up): unknown instruction id"),
    (["punctuation:no_comma", "keywords:existence"], [{}, {"keyword": ["x"]}],
     "data.jsonl: row 3: constraint 1 (keywords:existence): kwargs {'keyword': ['x']} do not match"),
    ([], [], "data.jsonl: row 3: no constraints"),
    (["punctuation:no_comma"], [{}, {}], "data.jsonl: row 3: kwargs must be a list of 1 dicts"),
])
def test_validate_constraints_names_file_row_and_constraint(ids, kwargs, message):
    with pytest.raises(DataError) as err:
        validate_constraints(ids, kwargs, "data.jsonl: row 3")
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_random_draws_for_invalid_kwargs_are_reproducible_and_leave_the_global_rng_alone():
    import random

    from rlpost.text.instruction_checks import build_checker

    kwargs = {"let_relation": "at least", "letter": "#", "let_frequency": 4}  # as in IFEval's own data
    random.seed(11)
    expected = random.random()
    random.seed(11)
    letters = {build_checker("keywords:letter_frequency", kwargs)._letter for _ in range(5)}
    assert random.random() == expected
    assert len(letters) == 1
