"""What the time-budget experiments (grpo_arith, ifeval_grpo) share: their arguments, the ``rlpost-train`` run for a
wall-clock budget, reusing an earlier base-model evaluation, and the training log's steps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.report import add_output_args, run_step


def add_budget_args(parser: argparse.ArgumentParser, minutes: float, config_name: str) -> None:
    """``--minutes``, ``--model``, ``--config-name``, ``--before-from``, the output arguments and Hydra overrides."""
    parser.add_argument("--minutes", type=float, default=minutes, help="training wall-clock budget")
    parser.add_argument("--model", default="smollm2_135m")
    parser.add_argument("--config-name", default=config_name, help="primary config or recipe to train")
    parser.add_argument("--before-from", type=Path, default=None,
                        help="an earlier --work-dir of this experiment whose base-model evaluations had the same "
                             "settings: reuse them instead of evaluating the base model again (minutes on CPU)")
    add_output_args(parser)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for the training run")


def train_for_budget(args: argparse.Namespace) -> dict[str, Any]:
    """``rlpost.train`` of ``--config-name`` for ``--minutes`` into ``<work_dir>/train`` (final model, no saves);
    a training that already finished there with the same arguments is reused (``run_step(reuse=True)``)."""
    return run_step("rlpost.train", [f"--config-name={args.config_name}", f"model={args.model}", "eval=none",
                                     f"max_train_minutes={args.minutes}", "trainer.max_steps=100000",
                                     "trainer.save_strategy=no", "logger=none", *args.overrides],
                    args.work_dir / "train", reuse=True)


def trained_steps(work_dir: Path) -> list[dict[str, Any]]:
    """The training run's logged optimizer steps (entries with a ``step_time``)."""
    history = json.loads((work_dir / "train" / "log_history.json").read_text())
    return [h for h in history if "step_time" in h]


def reused_eval(run_dir: Path, args: list[str]) -> dict[str, Any]:
    """The metrics of an earlier evaluation, only if it ran with exactly these overrides (its recorded Hydra
    overrides); otherwise a one-line error naming what differs."""
    import yaml

    recorded = run_dir / ".hydra" / "rank0" / "overrides.yaml"
    if not recorded.is_file():
        raise SystemExit(f"--before-from: {recorded} not found (not an rlpost-eval run directory)")
    if (old := yaml.safe_load(recorded.read_text())) != args:
        raise SystemExit(f"--before-from: {recorded} ran with {old}, this benchmark needs {args}")
    print(f"[bench] reusing the base-model evaluation in {run_dir}", flush=True)
    return {"metrics": json.loads((run_dir / "metrics.json").read_text()), "reused_from": str(run_dir)}


def mean(xs: list[float]) -> float | None:
    """Mean, or None for no values."""
    return sum(xs) / len(xs) if xs else None
