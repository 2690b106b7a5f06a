import json

import pytest

from rlpost.data.sources.arith import generate_arithmetic
from rlpost.data.sources.files import load_file
from rlpost.data.templates import ChatTemplate
from rlpost.errors import ConfigError, DataError


def test_generate_arithmetic_is_seeded_and_correct():
    a, b = generate_arithmetic(20, seed=3), generate_arithmetic(20, seed=3)
    assert a.to_list() == b.to_list()
    assert generate_arithmetic(20, seed=4).to_list() != a.to_list()
    for row in a:
        x, op, y = row["question"].removeprefix("What is ").rstrip("?").split()
        assert str(eval(f"{x}{op}{y}")) == row["answer"]
    assert {r["op"] for r in a} == {"add", "mul"}


def test_arithmetic_mix_weights_the_operations():
    ops = [r["op"] for r in generate_arithmetic(400, seed=0, mix={"add": 3, "mul": 1})]
    assert ops.count("add") == 300 and ops.count("mul") == 100
    with pytest.raises(DataError, match="data.source.mix"):
        generate_arithmetic(4, mix={"sub": 1})


def test_word_problems_keep_the_arithmetic():
    ds = generate_arithmetic(10, seed=0, style="word")
    assert all("What is" not in r["question"] for r in ds)


def test_mixed_style_uses_training_wordings_disjoint_from_the_held_out_ones():
    import re

    from rlpost.data.sources.arith import TRAIN_WORD_TEMPLATES, WORD_TEMPLATES

    rows = generate_arithmetic(400, seed=0, style="mixed", word_share=0.25)
    worded = [r["question"] for r in rows if not re.fullmatch(r"What is \d+ [-+*] \d+\?", r["question"])]
    assert 60 <= len(worded) <= 140  # about a quarter, seeded
    held_out_stems = tuple(t.split("{")[0] for ts in WORD_TEMPLATES.values() for t in ts)
    train_stems = tuple(t.split("{")[0] for ts in TRAIN_WORD_TEMPLATES.values() for t in ts)
    assert not any(q.startswith(held_out_stems) for q in worded)
    assert all(q.startswith(train_stems) for q in worded)
    plain = generate_arithmetic(50, seed=0, style="mixed", word_share=0.0)
    assert all(re.fullmatch(r"What is \d+ [-+*] \d+\?", q) for q in plain["question"])
    with pytest.raises(DataError, match="word_share"):
        generate_arithmetic(4, style="mixed", word_share=1.5)


def test_load_jsonl_gsm8k_style(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(
        json.dumps({"question": "q1", "answer": "work\n#### 1,000"})
        + "\n\n"
        + json.dumps({"question": "q2", "answer": "#### 5"})
        + "\n"
    )
    ds = load_file(str(p), answer_parser="hashes")
    assert ds["answer"] == ["1000", "5"]
    assert len(set(ds["prompt_id"])) == 2


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("", ".jsonl", "no rows"),
        ('{"question": "a"}\n{bad json\n', ".jsonl", r"d\.jsonl:2: not valid JSON"),
        ('{"q": "a"}\n', ".jsonl", "row 1 has no 'question'"),
        ("[1, 2]", ".json", "list of objects"),
        ("x", ".txt", "unsupported extension"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, content, suffix, message):
    p = tmp_path / f"d{suffix}"
    p.write_text(content)
    with pytest.raises(DataError, match=message):
        load_file(str(p))


def test_missing_file():
    with pytest.raises(DataError, match="file not found"):
        load_file("/nonexistent/x.jsonl")


def test_csv_and_json(tmp_path):
    (tmp_path / "d.csv").write_text("question,answer\nWhat is 1+1?,2\n")
    (tmp_path / "d.json").write_text(json.dumps([{"question": "x", "answer": "3"}]))
    assert load_file(str(tmp_path / "d.csv"))["answer"] == ["2"]
    assert load_file(str(tmp_path / "d.json"))["answer"] == ["3"]


def test_chat_template_unknown_column():
    with pytest.raises(ConfigError, match="nope"):
        ChatTemplate(user="{nope}")({"question": "x"})


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_labeled_flag_is_parsed_strictly(tmp_path, suffix):
    """A 'False' cell (CSV) or "no" (JSON) must read as False: as a string it is truthy and would leak gold."""
    from rlpost.rewards.self_consistency import MajorityVoteReward

    flags = ["False", "no", "0", "TRUE", "yes", ""]
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        path.write_text("question,answer,labeled\n" + "".join(f"q{i},4,{f}\n" for i, f in enumerate(flags)))
    else:
        path.write_text("".join(json.dumps({"question": f"q{i}", "answer": "4", "labeled": f}) + "\n"
                                for i, f in enumerate(flags)))
    ds = load_file(str(path))
    assert ds["labeled"] == [False, False, False, True, True, False]
    # an unlabelled row votes: majority 5 -> [1, 1, 1, 0], not the gold 4's [0, 0, 0, 1]
    row = ds[0]
    reward = MajorityVoteReward()
    texts = [[{"role": "assistant", "content": t}] for t in ["5", "5", "5", "4"]]
    assert reward(None, texts, prompt_id=[row["prompt_id"]] * 4, answer=[row["answer"]] * 4,
                  labeled=[row["labeled"]] * 4) == [1.0, 1.0, 1.0, 0.0]


def test_unknown_labeled_value_names_file_row_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("question,answer,labeled\nq0,4,true\nq1,4,maybe\n")
    with pytest.raises(DataError, match=r"d\.csv: row 2, column 'labeled': 'maybe' is not a boolean"):
        load_file(str(path))


def test_missing_labeled_values_read_as_false(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "a", "answer": "1", "labeled": true}\n{"question": "b", "answer": "2"}\n')
    assert load_file(str(path))["labeled"] == [True, False]
