"""GRPO with the self-consistency reward and SRT's guards, 2 steps on the tiny random model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import compose_recipe


def compose(overrides: list[str]):
    """Compose conf/grpo.yaml and register it as the current Hydra config (``${hydra:...}`` interpolations)."""
    from hydra.core.hydra_config import HydraConfig

    cfg = compose_recipe("grpo", overrides)
    HydraConfig.instance().set_config(cfg)
    return cfg


def smoke(run_dir: Path, overrides: list[str]) -> Any:
    """A 2-step GRPO config on the tiny model, no evaluation, no logger, writing to ``run_dir``."""
    return compose(["model=tiny_random", "logger=none", "+debug=cpu_smoke", f"run_dir={run_dir}", "eval.before=false",
                    "eval.after=false", *overrides])


@pytest.mark.integration
def test_grpo_self_consistency_with_guards(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = smoke(tmp_path, [
        "reward=self_consistency", "guards=srt", "algo.entropy_coef=0.01",
        "guards.early_stopping.eval_steps=1", "guards.early_stopping.val_size=4", "guards.early_stopping.patience=5",
        "guards.early_stopping.restore_best=false",
    ])
    before = {k: v.clone() for k, v in load_policy(cfg.model)[0].state_dict().items()}
    results = run(cfg)
    assert results["train"]["steps"] == 2
    after = AutoModelForCausalLM.from_pretrained(tmp_path / "final").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "weights did not move"
    report = json.loads((tmp_path / "guards" / "early_stopping.json").read_text())
    assert [step for step, _ in report["history"]] == [0, 1, 2]  # before training, then every step


@pytest.mark.integration
def test_self_consistency_metrics_reach_trainer_logs(tmp_path: Path) -> None:
    """The reward's label-quality metrics are logged by TRL each step (tiny model: answers are mostly unparsable)."""
    from rlpost.methods.grpo.pipeline import run

    cfg = smoke(tmp_path, [
        "reward=self_consistency", "trainer.max_steps=1", "trainer.save_strategy=steps",
        "trainer.save_steps=1", "algo.entropy_coef=0.001",
    ])
    run(cfg)
    state = json.loads(next((tmp_path / "checkpoints").glob("checkpoint-*/trainer_state.json")).read_text())
    keys = set(state["log_history"][0])
    assert "self_consistency/parsable_fraction" in keys, sorted(keys)
    assert "rewards/self_consistency/mean" in keys
    assert state["log_history"][0]["entropy_coef"] == 0.001  # 1-shot RLVR's entropy bonus reaches the loss


@pytest.mark.integration
def test_grpo_offline_labels_and_curriculum(tmp_path: Path) -> None:
    """Base-model labels computed once, then GRPO trains on the kept rows with the accuracy reward."""
    from rlpost.methods.grpo.pipeline import run

    cfg = smoke(tmp_path, [
        "reward=accuracy", "guards=curriculum", "guards.base_labels.max_rows=8",
        "guards.base_labels.n=2", "guards.base_labels.freeze=true", "guards.curriculum.keep_fraction=0.5",
    ])
    results = run(cfg)
    assert results["train"]["steps"] == 2
    report = json.loads((tmp_path / "guards" / "base_labels.json").read_text())
    assert report["rows"] == 8 and 0.0 <= report["labeled_fraction"] <= 1.0


def test_frozen_labels_refuse_the_online_vote(tmp_path: Path) -> None:
    from rlpost.errors import ConfigError
    from rlpost.methods.grpo.guards.setup import label_with_base_model
    from rlpost.rewards.build import build_rewards
    from tests.methods.grpo.test_guards import labelling

    cfg = compose(["reward=self_consistency", "guards=offline_labels", f"run_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="reward=accuracy"):
        label_with_base_model(cfg.guards.base_labels, None, None, None, None, build_rewards(cfg.reward)[0],
                              **labelling(cfg))
