"""Open prompt loaders and DivPO config validation (bad input gives one clear error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rlpost.data.sources import open_prompts as op
from rlpost.errors import ConfigError, DataError
from rlpost.methods.divpo.config import validate_divpo

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "divpo" / "prompts.json"


def test_persona_prompt_repeats() -> None:
    if not SHARED.is_file():
        pytest.skip("shared data not present")
    ds = op.load_task_prompt(str(SHARED), "persona_generation", repeats=3)
    assert len(ds) == 3 and len(set(ds["prompt_id"])) == 3 and "first_name" in ds[0]["question"]


def test_null_task_prompt_is_named(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"tasks": {"keyword_story_generation": {"prompt": None}}}))
    with pytest.raises(DataError, match="keyword_story_generation.prompt is empty"):
        op.load_task_prompt(str(f), "keyword_story_generation")
    with pytest.raises(DataError, match="no task 'nope'"):
        op.load_task_prompt(str(f), "nope")


def test_prompt_file_errors(tmp_path: Path) -> None:
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="no rows"):
        op.load_prompt_file(str(empty))
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    with pytest.raises(DataError, match="row 2 has no non-empty 'prompt'"):
        op.load_prompt_file(str(bad))


def test_random_x_and_keyword_story() -> None:
    assert len(op.random_x_prompts(["fruit", "city"], repeats=2)) == 4
    assert "Midnight" in op.keyword_story_prompts(["Midnight"])[0]["question"]


def algo(**kw):
    base = {"n": 4, "rho": 0.3, "rounds": 1, "diversity": {"_target_": "x"}}
    return OmegaConf.create({"algo": {**base, **kw}})


@pytest.mark.parametrize(("kw", "match"), [({"n": 1}, "algo.n=1"), ({"rho": 0.6}, "algo.rho=0.6"),
                                            ({"rho": -0.1}, "algo.rho"), ({"rounds": 0}, "algo.rounds"),
                                            ({"diversity": None}, "algo.diversity")])
def test_validate_divpo(kw, match) -> None:
    with pytest.raises(ConfigError, match=match):
        validate_divpo(algo(**kw))
