"""Kill -9 a run with dynamic sampling, re-run the same command: it resumes with the prompt stream where the last
committed checkpoint left it and ends with the same weights as an uninterrupted run (so the same prompts were drawn).
Reuses the harness of tests/e2e/test_resume.py with dynamic sampling and a reward that makes about half of
the groups uniform."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import test_resume as harness

DYNAMIC = (*harness.GOLD_OFF, "reward.funcs.hash._target_=rlpost.testing.HalfUniformReward",
           "algo.dynamic_sampling=true", "algo.max_generation_rounds=3")


@pytest.mark.integration
def test_sigkill_then_rerun_matches_uninterrupted_run_with_dynamic_sampling(tmp_path: Path) -> None:
    import json

    import torch

    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    harness._run(reference, delay_s=0.0, extra=DYNAMIC)
    harness._kill_after_first_commit(resumed, delay_s=1.0, extra=DYNAMIC)
    out = harness._run(resumed, delay_s=0.0, extra=DYNAMIC)
    assert "resuming from" in out.stdout + out.stderr
    history = json.loads((reference / "log_history.json").read_text())
    drawn = [h["dynamic_sampling/groups_drawn"] for h in history if "dynamic_sampling/groups_drawn" in h]
    uniform = sum(h["dynamic_sampling/groups_uniform"] for h in history if "dynamic_sampling/groups_uniform" in h)
    assert len(drawn) == harness.STEPS and uniform > 0, "the reward made no group uniform: nothing was refilled"
    resumed_history = json.loads((resumed / "log_history.json").read_text())
    consumed = [h["dynamic_sampling/prompts_consumed"] for h in resumed_history if "dynamic_sampling/rounds" in h]
    ref_consumed = [h["dynamic_sampling/prompts_consumed"] for h in history if "dynamic_sampling/rounds" in h]
    assert consumed == ref_consumed[-len(consumed):], (consumed, ref_consumed)  # same stream positions after resume
    ref, final = harness._weights(reference), harness._weights(resumed)
    for name, value in ref.items():
        torch.testing.assert_close(final[name], value, atol=harness.ATOL, rtol=0, msg=name)
