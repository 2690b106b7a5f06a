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
                        "val": {"style": "plain", "seed": 4321, "size": 100}, "cpu_model": "Xeon",
                        "cpu_capability": "AVX512", "date": f"2026-12-0{seed + 1}"}}
    (out / f"{arm}_s{seed}").mkdir(parents=True)
    (out / f"{arm}_s{seed}" / "run.json").write_text(json.dumps(run))


def test_report_aggregates_seeds_and_times_the_target(tmp_path):
    from bench.experiments.grpo_tta import main

    runs = tmp_path / "runs"
    _run(runs, "trl", 0, (0.4, 0.5, 0.6), (0.5, 0.6))
    _run(runs, "trl", 1, (0.4, 0.5, 0.8), (0.5, 0.8))
    _run(runs, "dynamic", 0, (0.4, 0.7, 0.8), (0.7, 0.8))
    _run(runs, "dynamic", 1, (0.4, 0.7, 0.9), (0.7, 0.9))
    (runs / "dynamic_s1" / "train").mkdir()
    (runs / "dynamic_s1" / "train" / "log_history.json").write_text(json.dumps(
        [{"step": i, "step_time": t} for i, t in enumerate((9.0, 3.0, 5.0, 4.0))] + [{"train_runtime": 1.0}]))
    main(["report", "--work-dir", str(runs), "--out", str(tmp_path)])
    result = json.loads((tmp_path / "result.json").read_text())
    dyn = result["arms"]["dynamic"]
    assert result["target"]["trl_final_val_accuracy"] == pytest.approx(0.7)
    assert dyn["time_to_trl_final_min"] == pytest.approx(10.0) and dyn["fraction_of_budget"] == pytest.approx(0.5)
    assert dyn["test"]["20"]["plain"] == pytest.approx([0.85, 0.05])  # mean, standard error over 2 seeds
    assert result["arms"]["trl"]["time_to_trl_final_min"] == pytest.approx(20.0)
    # per seed against the mean target: trl seed 0 never reaches 70%, seed 1 crosses it between 10 and 20 min
    assert result["arms"]["trl"]["time_to_trl_final_per_seed"] == [None, pytest.approx(10 + 10 * 0.2 / 0.3)]
    assert dyn["time_to_trl_final_per_seed"] == [10.0, 10.0]
    assert dyn["median_step_s"] == [4.5, None] and result["arms"]["trl"]["median_step_s"] == [None, None]
    assert result["machines"] == ["Xeon (AVX512)"] and result["dates"] == ["2026-12-01", "2026-12-02"]
    assert (tmp_path / "grpo_tta.png").stat().st_size > 1000
    md = (tmp_path / "result.md").read_text()
    assert "| dynamic | [0, 1] | 70.0% ± 0.0% | 85.0% ± 5.0% |" in md
    assert "| 200 | 120 | 4.5 | 10.0 min (50%); 10.0, 10.0 |" in md and "| - | 20.0 min (100%); -, 16.7 |" in md


def test_report_keeps_each_run_so_seeds_can_be_added_after_the_work_files_are_gone(tmp_path):
    from bench.experiments.grpo_tta import main

    first, later, out = tmp_path / "runs_a", tmp_path / "runs_b", tmp_path / "results"
    _run(first, "gspo", 0, (0.4, 0.5, 0.6), (0.5, 0.6))
    main(["report", "--work-dir", str(first), "--out", str(out)])
    assert json.loads((out / "runs" / "gspo_s0.json").read_text())["seed"] == 0
    _run(later, "gspo", 1, (0.4, 0.5, 0.8), (0.5, 0.8))  # a new seed on a later machine; runs_a is gone
    main(["report", "--work-dir", str(later), "--out", str(out)])
    main(["report", "--work-dir", str(later), "--out", str(out), "--target", "0.55"])  # TRL's runs live elsewhere
    result = json.loads((out / "result.json").read_text())
    gspo = result["arms"]["gspo"]
    assert gspo["seeds"] == [0, 1] and gspo["test"]["20"]["plain"] == pytest.approx([0.7, 0.1])
    assert result["target"] == {"trl_final_val_accuracy": 0.55, "budget_min": 20.0, "given": True}
    assert gspo["time_to_trl_final_per_seed"] == [pytest.approx(15.0), pytest.approx(10 + 10 * 0.05 / 0.3)]
    assert gspo["time_to_trl_final_min"] == pytest.approx(12.5)
    assert "given with --target" in (out / "result.md").read_text()


def test_marks_end_at_the_budget():
    from bench.experiments.grpo_tta import marks

    assert marks(20, 2) == [2.0 * i for i in range(1, 11)] and marks(0.5, 0.2) == [0.2, 0.4, 0.5]
