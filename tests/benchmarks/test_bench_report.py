"""bench/report.py: speed ratios are medians after the warm-up step, restated from the committed results."""

from __future__ import annotations

import pytest
from bench.report import RESULTS, cpu_text, median_after_warmup, restate_step_ratios, step_time_ratio
from bench.speed import grpo_step


def test_median_after_warmup_drops_the_first_step():
    assert median_after_warmup([30.0, 10.0, 12.0, 11.0]) == 11.0
    assert median_after_warmup([30.0]) is None
    assert step_time_ratio([9.0, 5.0, 5.0], [20.0, 10.0, 10.0]) == 0.5


def test_committed_grpo_step_ratios_restated_as_medians():
    """The mean including step 1 reported 0.84x and 0.56x; the median after step 1 is 0.94x and 0.67x."""
    text = restate_step_ratios(RESULTS)
    assert "| `grpo_step/engines` | rlpost / trl | 3 | 0.84x | **0.94x** |" in text
    assert "| `grpo_step/skip_trained` | skip_zero_adv / all_rows | 12 | 0.56x | **0.67x** |" in text
    assert "| `grpo_step/skip_base` | skip_zero_adv / all_rows | 12 | 0.73x | **0.69x** |" in text
    assert (RESULTS / "step_ratios.md").read_text() == text  # the committed file is up to date


def test_grpo_step_table_headlines_the_median_ratio():
    import json

    data = json.loads((RESULTS / "grpo_step" / "engines" / "result.json").read_text())
    table = grpo_step.format_table(data)
    assert "(median s/step after step 1): **0.94x**" in table and "0.84x" not in table
    assert "CPU capability not recorded" in table
    assert cpu_text({"cpu_capability": "AVX512", "cpu_native_bf16": True}) == "CPU AVX512, native bf16"


def test_run_step_reuses_a_finished_step_only_with_the_same_arguments(tmp_path):
    """An interrupted benchmark resumes, and a --validation-only run is scored on the test set without retraining."""
    from bench.report import run_step

    run_dir = tmp_path / "step"
    first = run_step("platform", [], run_dir)
    assert "reused" not in first and (run_dir / "stdout.log").read_text().strip()
    (run_dir / "stdout.log").unlink()
    again = run_step("platform", [], run_dir, reuse=True)
    assert again["reused"] and again["wall_s"] == first["wall_s"] and not (run_dir / "stdout.log").exists()
    assert "reused" not in run_step("platform", [], run_dir)  # reuse is asked for, never implied
    assert "reused" not in run_step("platform", ["--terse"], run_dir, reuse=True)  # other arguments: run again
    assert (run_dir / "stdout.log").is_file()
    # a step that fails (or is killed) after overwriting the folder leaves no record to mistake for the earlier run
    with pytest.raises(SystemExit, match="failed"):
        run_step("json.tool", ["/no/such/file.json"], run_dir, reuse=True)
    assert not (run_dir / "step.json").exists()
