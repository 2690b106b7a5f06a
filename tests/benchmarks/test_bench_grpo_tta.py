"""bench/experiments/grpo_tta.py report: mean +- SE over seeds, time to plain TRL's 20-minute accuracy, table, PNG."""

from __future__ import annotations

import json

import pytest


def _run(out, arm, seed, accs, test_plain):
    curve = [{"minutes": float(m), "elapsed_s": 60.0 * m, "step": 10 * m, "val_accuracy": a}
             for m, a in zip((0, 10, 20), accs, strict=True)]
    test = {t: {"plain": {"accuracy": p}, "word": {"accuracy": p / 2}} for t, p in zip(("10", "20"), test_plain,
                                                                                         strict=True)}
    run = {"arm": arm, "seed": seed, "curve": curve, "test": test,
           "counts": {"steps": 100, "generations": 100, "groups_drawn": 200.0, "groups_uniform": 120.0},
           "settings": {"config_name": "c", "model": "m", "minutes": 20, "every": 10,
                        "val": {"style": "plain", "seed": 4321, "size": 100}}}
    (out / f"{arm}_s{seed}").mkdir(parents=True)
    (out / f"{arm}_s{seed}" / "run.json").write_text(json.dumps(run))


def test_report_aggregates_seeds_and_times_the_target(tmp_path):
    from bench.experiments.grpo_tta import main

    runs = tmp_path / "runs"
    _run(runs, "trl", 0, (0.4, 0.5, 0.6), (0.5, 0.6))
    _run(runs, "trl", 1, (0.4, 0.5, 0.8), (0.5, 0.8))
    _run(runs, "dynamic", 0, (0.4, 0.7, 0.8), (0.7, 0.8))
    _run(runs, "dynamic", 1, (0.4, 0.7, 0.9), (0.7, 0.9))
    main(["report", "--work-dir", str(runs), "--out", str(tmp_path)])
    result = json.loads((tmp_path / "result.json").read_text())
    dyn = result["arms"]["dynamic"]
    assert result["target"]["trl_final_val_accuracy"] == pytest.approx(0.7)
    assert dyn["time_to_trl_final_min"] == pytest.approx(10.0) and dyn["fraction_of_budget"] == pytest.approx(0.5)
    assert dyn["test"]["20"]["plain"] == pytest.approx([0.85, 0.05])  # mean, standard error over 2 seeds
    assert result["arms"]["trl"]["time_to_trl_final_min"] == pytest.approx(20.0)
    assert (tmp_path / "grpo_tta.png").stat().st_size > 1000
    assert "| dynamic | [0, 1] | 70.0% ± 0.0% | 85.0% ± 5.0% |" in (tmp_path / "result.md").read_text()


def test_marks_end_at_the_budget():
    from bench.experiments.grpo_tta import marks

    assert marks(20, 2) == [2.0 * i for i in range(1, 11)] and marks(0.5, 0.2) == [0.2, 0.4, 0.5]
