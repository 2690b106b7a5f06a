"""text/answers.EXTRACTORS: one vocabulary for data.answer_parser and every answer_format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rlpost.data.sources.files import load_file
from rlpost.errors import ConfigError
from rlpost.eval.tasks.math_qa import evaluate_model
from rlpost.rewards.accuracy import AccuracyReward
from rlpost.rewards.formatting import AnswerFormatReward
from rlpost.rewards.self_consistency import MajorityVoteReward
from rlpost.text.answers import EXTRACTORS, extract_answer

CONF = Path(__file__).resolve().parents[2] / "conf"
TEXT = "Work: \\boxed{1/2}. The answer is 3. #### 4\nthen 5"


def test_one_vocabulary() -> None:
    assert list(EXTRACTORS) == ["none", "boxed", "hashes", "answer_is", "last_number", "auto"]
    got = {name: extract_answer(TEXT, name) for name in EXTRACTORS}
    assert got == {"none": TEXT.strip(), "boxed": "1/2", "hashes": "4\nthen 5", "answer_is": "3",
                   "last_number": "5", "auto": "1/2"}


def MATH_QA(answer_format: str):  # noqa: N802 - reads like the config it builds
    return OmegaConf.create({"kind": "math_qa", "answer_format": answer_format})


@pytest.mark.parametrize("make,key", [
    (lambda f: AccuracyReward(f), "reward.funcs.accuracy.answer_format"),
    (lambda f: AnswerFormatReward(f), "reward.funcs.format.answer_format"),
    (lambda f: MajorityVoteReward(f), "reward.funcs.self_consistency.answer_format"),
    (lambda f: f == "hashes" or evaluate_model(None, None, None, None, MATH_QA(f), None), "eval.answer_format"),
])
def test_old_name_gets_one_line_error_naming_the_new(make, key) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=after_hashes was renamed: use hashes$"):
        make("after_hashes")
    with pytest.raises(ConfigError, match=f"^{key}='nope': choose one of none, boxed, hashes"):
        make("nope")
    make("hashes")


def test_answer_parser_reads_the_same_table(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps({"question": "q", "answer": a}) for a in ["so \\boxed{2}", "x #### 7"]))
    assert load_file(str(path), answer_parser="auto")["answer"] == ["2", "7"]
    with pytest.raises(ConfigError, match="^data.answer_parser=after_hashes was renamed: use hashes$"):
        load_file(str(path), answer_parser="after_hashes")


def test_no_config_uses_the_old_name() -> None:
    files = [p for p in [*CONF.rglob("*.yaml"), *(CONF.parent / "recipes").rglob("*.yaml")]
             if "after_hashes" in p.read_text()]
    assert files == []
