"""Every config value is written once: run directories and logging in conf/hydra/default.yaml, the data folder in
conf/paths/default.yaml; siblings extend a base instead of copying it."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from tests.conftest import ROOT, compose_recipe

PRIMARIES = sorted(p.stem for p in (ROOT / "conf").glob("*.yaml"))
RECIPES = sorted(p.stem for p in (ROOT / "recipes").glob("*.yaml"))
YAML = sorted([*(ROOT / "conf").rglob("*.yaml"), *(ROOT / "recipes").glob("*.yaml")])


@pytest.mark.parametrize("name", PRIMARIES + RECIPES)
def test_run_dirs_and_logging_come_from_hydra_default(name: str) -> None:
    hydra = compose_recipe(name).hydra
    assert OmegaConf.to_container(hydra.run) == {"dir": "${oc.env:RLPOST_RUN_DIR,outputs/${hydra:job.config_name}/"
                                                        "${now:%Y-%m-%d_%H-%M-%S}}"}
    assert OmegaConf.to_container(hydra)["output_subdir"] == ".hydra/rank${oc.env:RANK,0}"
    assert OmegaConf.to_container(hydra.sweep)["subdir"] == "${hydra.job.num}"
    assert hydra.runtime.choices["hydra/job_logging"] == "rlpost"


@pytest.mark.parametrize("path", YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_value_has_one_home(path) -> None:
    text = path.read_text()
    rel = path.relative_to(ROOT).as_posix()
    if rel != "conf/paths/default.yaml":
        assert "RLPOST_DATA," not in text, f"{rel}: read the data folder as ${{paths.data_root}}"
    if rel.count("/") == 1:  # primary configs and recipes
        assert "\nhydra:" not in text, f"{rel}: run dirs and logging belong in conf/hydra/default.yaml"


def test_sibling_options_extend_their_base() -> None:
    movie = compose_recipe("sft", ["data=tallrec_movie"]).data
    book = compose_recipe("sft", ["data=tallrec_book"]).data
    differ = {k for k in movie.splits if movie.splits[k] != book.splits[k]}
    assert differ == {"train_path", "valid_path", "test_path"}
    server = compose_recipe("grpo", ["rollout=vllm_server"]).rollout
    colocate = compose_recipe("grpo", ["rollout=vllm_colocate"]).rollout
    assert {k for k in colocate if colocate[k] != server[k]} == {"vllm_mode"}
