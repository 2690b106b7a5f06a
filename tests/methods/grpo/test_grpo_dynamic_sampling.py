"""The GRPO pipeline with ``algo.dynamic_sampling=true`` under both rollout engines: 2 steps, full batches of
informative groups, weights moved."""

from __future__ import annotations

import pytest

from tests.conftest import changed_params
from tests.methods.grpo.test_grpo_pipeline import _cfg

pytestmark = pytest.mark.integration

REWARD = ["+reward.funcs.half._target_=rlpost.testing.HalfUniformReward", "+reward.weights.half=1.0",
          "reward.weights.accuracy=0"]


@pytest.mark.parametrize("engine", ["trl", "rlpost"])
def test_dynamic_sampling_pipeline(tmp_path, engine):
    import json

    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = _cfg(tmp_path, [f"rollout.engine={engine}", "eval=none", "algo.dynamic_sampling=true",
                          "algo.max_generation_rounds=8", *REWARD])
    before, _ = load_policy(cfg.model)
    results = run(cfg)
    assert results["train"]["steps"] == 2
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed after 2 steps"
    steps = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "dynamic_sampling/rounds" in h]
    assert len(steps) == 2
    assert all(h["dynamic_sampling/filler_groups"] == 0 and h["dynamic_sampling/groups_kept"] > 0 for h in steps)
    assert sum(h["dynamic_sampling/groups_uniform"] for h in steps) > 0
