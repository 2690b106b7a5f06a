"""What the time-budget experiments (grpo_arith, ifeval_grpo) share: their arguments, the ``rlpost-train`` run for a
wall-clock budget (or more budget on top of an earlier run's, ``--continue-from``), reusing an earlier base-model
evaluation, and the training log's steps."""

from __future__ import annotations

import argparse
import json
import shutil
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
    parser.add_argument("--continue-from", type=Path, default=None,
                        help="an earlier --work-dir of this experiment, trained with the same config, model and "
                             "overrides: resume its last checkpoint (weights, optimizer, schedule, RNG, log) and "
                             "train --minutes more; the results state the summed budget")
    add_output_args(parser)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for the training run")


def train_args(args: argparse.Namespace) -> list[str]:
    """The ``rlpost.train`` arguments of a budget run (recorded in its ``train/step.json``)."""
    return [f"--config-name={args.config_name}", f"model={args.model}", "eval=none",
            f"max_train_minutes={args.minutes}",
            "trainer.max_steps=100000", "trainer.save_strategy=no", "logger=none", *args.overrides]


def train_for_budget(args: argparse.Namespace) -> dict[str, Any]:
    """``rlpost.train`` of ``--config-name`` for ``--minutes`` into ``<work_dir>/train`` (final model; the only save
    is the checkpoint at the end of the budget); a training that already finished there with the same arguments is
    reused (``run_step(reuse=True)``). With ``--continue-from`` the run first gets the earlier run's last checkpoint
    (:func:`seed_from_earlier`) and resumes it; ``minutes_total`` is the summed budget."""
    run_dir = args.work_dir / "train"
    total = seed_from_earlier(args.continue_from / "train", run_dir, train_args(args)) \
        if args.continue_from is not None else 0.0
    return {**run_step("rlpost.train", train_args(args), run_dir, reuse=True),
            "minutes_total": total + args.minutes}


CONTINUED = "continued_from.json"


def seed_from_earlier(earlier: Path, run_dir: Path, args: list[str]) -> float:
    """Copy the newest committed checkpoint of the finished budget run ``earlier`` (and its run fingerprint) into
    ``run_dir/checkpoints``, where ``rlpost.train`` resumes it; returns the minutes ``earlier`` had trained in total.

    The earlier run must have trained with the same arguments except ``max_train_minutes`` (one-line error naming
    what differs). Resuming restarts the wall clock (:class:`rlpost.runtime.callbacks.TimeBudgetCallback`), so the
    continued run trains its own budget on top. Idempotent: a ``run_dir`` already seeded is left as it is.
    """
    from rlpost.checkpoint.resume import FINGERPRINT, find_resume_checkpoint
    from rlpost.io import write_json

    record = run_dir / CONTINUED
    if record.is_file():
        return float(json.loads(record.read_text())["minutes_before"])
    step = earlier / "step.json"
    if not step.is_file():
        raise SystemExit(f"--continue-from: {step} not found (no finished budget training there)")
    old = json.loads(step.read_text())["args"]
    if (differs := sorted(set(_no_budget(old)) ^ set(_no_budget(args)))):
        raise SystemExit(f"--continue-from: {step} trained with other arguments ({', '.join(differs)} differ)")
    checkpoint = find_resume_checkpoint(earlier / "checkpoints")
    if checkpoint is None:
        raise SystemExit(f"--continue-from: no committed checkpoint in {earlier / 'checkpoints'}")
    target = run_dir / "checkpoints" / Path(checkpoint).name
    if not target.is_dir():  # copied whole or not at all: a killed copy leaves only the .partial folder
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(checkpoint, partial)
        shutil.copy2(earlier / "checkpoints" / FINGERPRINT, run_dir / "checkpoints" / FINGERPRINT)
        partial.rename(target)
    before = json.loads((earlier / CONTINUED).read_text())["minutes_total"] if (earlier / CONTINUED).is_file() \
        else _budget(old)
    minutes_now = _budget(args)
    write_json(record, {"from": str(checkpoint), "minutes_before": before, "minutes_total": before + minutes_now},
               indent=1)
    print(f"[bench] continuing {checkpoint} ({before:g} min trained) for {minutes_now:g} min more", flush=True)
    return before


BUDGET = "max_train_minutes="


def _budget(args: list[str]) -> float:
    """The ``max_train_minutes`` of recorded ``rlpost.train`` arguments."""
    return float(next(a for a in args if a.startswith(BUDGET))[len(BUDGET):])


def _no_budget(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith(BUDGET)]


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
