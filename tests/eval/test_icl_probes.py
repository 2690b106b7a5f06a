"""ICL probe prompts: gold / random / abstract labels, per-prompt abstract mappings, demonstration sampling."""

from __future__ import annotations

import random

import pytest

from rlpost.data.sources.claims import make_arithmetic_claims
from rlpost.eval.tasks.icl_probe import LABEL_SPACES, build_icl_prompt, probe, sample_demos

ROWS = make_arithmetic_claims(40, seed=3)


def test_gold_prompt_shows_true_labels_and_instruction():
    demos = ROWS[:4]
    prompt, labels = build_icl_prompt(ROWS[10], demos, "gold", random.Random(0))
    assert labels == ("Yes", "No") and prompt.startswith(ROWS[0]["instruction"])
    for d in demos:
        assert f"{d['input']}\nAnswer: {'Yes' if d['label'] else 'No'}" in prompt
    assert prompt.endswith(f"{ROWS[10]['input']}\nAnswer:") and prompt.count("\n\n\n") == 4


def test_random_labels_come_from_label_words_and_ignore_gold():
    rng = random.Random(0)
    shown = []
    for _ in range(50):
        prompt, _ = build_icl_prompt(ROWS[10], ROWS[:1], "random", rng)
        shown.append(prompt.split("Answer: ")[1].split("\n")[0])
    assert set(shown) == {"Yes", "No"}  # demo 0 is a true claim, yet both labels appear


def test_abstract_mapping_is_per_prompt_bijection_without_instruction():
    rng = random.Random(1)
    pairs = set()
    for _ in range(30):
        prompt, (pos, neg) = build_icl_prompt(ROWS[10], ROWS[:4], "abstract", rng)
        assert pos != neg and any({pos, neg} <= set(pool) for pool in LABEL_SPACES.values())
        assert "Yes" not in prompt and "No" not in prompt and ROWS[0]["instruction"] not in prompt
        for d in ROWS[:4]:
            assert f"{d['input']}\n{pos if d['label'] else neg}" in prompt
        assert prompt.endswith(f"{ROWS[10]['input']}\n")
        pairs.add((pos, neg))
    assert len(pairs) > 10  # a fresh mapping for every prompt


def test_demos_cover_both_classes_and_exclude_query():
    demos = sample_demos(ROWS, 4, random.Random(0), exclude=ROWS[0])
    assert sorted(d["label"] for d in demos) == [0, 0, 1, 1] and all(d is not ROWS[0] for d in demos)
    with pytest.raises(Exception, match="needs 3 positive"):
        sample_demos([r for r in ROWS if r["label"] == 0][:3] + ROWS[:2], 5, random.Random(0))


def test_probe_reports_every_setting_and_k(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.rollout.label_scores import YesNoScorer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = probe(model, tok, YesNoScorer(multi_token="first", batch_size=8), ROWS[:20], ROWS[20:28], ks=[0, 2],
                 task="arith")
    assert [(r["setting"], r["k"]) for r in rows] == [("gold", 0), ("gold", 2), ("random", 2), ("abstract", 2)]
    assert all(0 <= r["auc"] <= 1 and r["n"] == 8 for r in rows)
