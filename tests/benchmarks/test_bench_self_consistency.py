"""bench/experiments/self_consistency.py without training: the time budget's overrides, the smoothing and the plot."""

from __future__ import annotations

from pathlib import Path

from bench.experiments import self_consistency as bench


def _args(argv: list[str]):
    return bench.parse_args(["--model", "tiny_random", *argv])


def test_step_budget_sets_max_steps() -> None:
    out = bench.common_overrides(_args(["--steps", "40"]))
    assert "trainer.max_steps=40" in out and "trainer.save_steps=40" in out
    assert "max_train_minutes=null" in out  # no wall-clock cap (the quickstart's is 5 min)
    assert bench.budget_text(_args(["--steps", "40"])) == "40 steps"


def test_time_budget_lets_the_callback_stop_the_run() -> None:
    args = _args(["--minutes", "30"])
    out = bench.common_overrides(args)
    assert "max_train_minutes=30.0" in out and "trainer.max_steps=100000" in out
    assert bench.budget_steps(args) == 301  # offline labels for 30 min at 6 s per step
    assert bench.budget_text(args) == "30 min of training per arm"


def test_rolling_mean_is_a_trailing_mean() -> None:
    assert bench.rolling_mean([0, 1, 0, 1], 2) == [0.0, 0.5, 0.5, 0.5]
    assert bench.rolling_mean([1.0, 3.0, 5.0], 10) == [1.0, 2.0, 3.0]
    assert bench.rolling_mean([], 3) == []


def test_plot_includes_the_validation_curve(tmp_path: Path) -> None:
    results = {
        "base": {"before": {"accuracy": 0.4}},
        "gold": {"after": {"accuracy": 0.7}, "curves": {"reward": [(1, 0.2), (2, 0.6), (3, 0.8)]}},
        "sc_guarded": {"after": {"accuracy": 0.69},
                       "curves": {"reward": [(1, 0.5), (2, 0.9)], "self_consistency/majority_share": [(1, 0.5)]},
                       "guards": {"early_stopping": {"history": [[0, 0.47], [10, 0.66], [20, 0.5]],
                                                     "best_step": 10}}},
    }
    rows = bench.summarise(results, k=2)
    assert [r["kept_step"] for r in rows] == [None, None, 10]
    bench.write_plot(results, rows, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000
