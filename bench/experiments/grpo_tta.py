"""Time-to-accuracy on arithmetic: plain TRL vs rlpost row skipping vs dynamic sampling vs GSPO, equal CPU time.

One run = one arm x one seed: train for ``--minutes`` of wall-clock time with weight snapshots every ``--every``
minutes of training time (saving excluded), then evaluate every snapshot on the VALIDATION split (plain wording,
seed 4321: neither the training seeds nor the test seeds) for the accuracy-vs-wall-clock curve. With ``--test``
(reported runs only, after the settings were chosen on validation), the 10- and 20-minute snapshots are also evaluated
once on the held-out TEST sets: plain wording (seed 1234) and word problems (seed 999), as grpo_arith.py does.

Arms (same recipe, same prompts and reward; ``--config-name`` default grpo_smollm2_arith_20min):
  trl      plain ``trl.GRPOTrainer`` with the recipe's settings and TRL's own generation (trl_grpo_arith.py)
  skip     rlpost: the recipe as is (rollout.engine=rlpost, zero-advantage rows skipped)
  dynamic  rlpost: + algo.dynamic_sampling=true (DAPO: refill the batch with informative groups)
  gspo     rlpost: algo=gspo (sequence-level ratios, 2 updates per generation batch)

    python -m bench experiment grpo_tta --tag TAG run --arm dynamic --seed 0          # tuning: validation curve only
    python -m bench experiment grpo_tta --tag TAG run --arm dynamic --seed 0 --test   # a reported run
    python -m bench experiment grpo_tta --tag TAG train --arm dynamic --seed 0        # the timed training alone;
                                                       # a later `run` with the same arguments reuses it
    python -m bench experiment grpo_tta --tag TAG report     # table + PNG from every run of the tag
    python -m bench experiment grpo_tta --tag smoke run --arm dynamic --minutes 0.5 --every 0.25 --model tiny_random \\
        --val-size 4
        --test --test-size 4 --out /tmp/tta_smoke                      # smoke

Each run writes ``bench/runs/grpo_tta/<tag>/<arm>_s<seed>/run.json``; ``report`` writes
``bench/results/grpo_tta/<tag>/result.{json,md}`` and ``grpo_tta.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from bench.experiments.grpo_arith import SPLIT_SEEDS, evaluate
from bench.report import add_output_args, machine_info, resolve_outputs, run_step

ARMS: dict[str, list[str] | None] = {"trl": None, "skip": [], "dynamic": ["algo.dynamic_sampling=true"],
                                     "gspo": ["algo=gspo"]}
VAL = ("plain", SPLIT_SEEDS["valid"][0])  # validation split (style, generator seed), as grpo_arith.py's
TEST = (("plain", SPLIT_SEEDS["test"][0]), ("word", SPLIT_SEEDS["test"][1]))  # held-out test sets, likewise
REPORT_AT = (10.0, 20.0)


def marks(minutes: float, every: float) -> list[float]:
    """Snapshot times: every ``every`` minutes up to and including ``minutes``.

    Example:
        >>> marks(20, 2.5)
        [2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0]
    """
    n = int(math.floor(minutes / every + 1e-9))
    out = [round(every * (i + 1), 6) for i in range(n)]
    return out if out and math.isclose(out[-1], minutes) else [*out, minutes]


def trained(train_dir: Path, snaps: list[float]) -> bool:
    """True when ``train_dir`` holds a finished training with a snapshot at each of ``snaps``.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); (d / "snapshots").mkdir()
        >>> trained(d, [1.0, 2.0])
        False
        >>> _ = (d / "snapshots" / "snapshots.json").write_text('[{"minutes": 1.0}, {"minutes": 2.0}]')
        >>> trained(d, [1.0, 2.0]), trained(d, [1.0, 2.0, 3.0])
        (True, False)
    """
    index = train_dir / "snapshots" / "snapshots.json"
    return index.is_file() and {s["minutes"] for s in json.loads(index.read_text())} >= set(snaps)


def train(arm: str, seed: int, args: argparse.Namespace, run_dir: Path) -> Path:
    """Train one arm unless ``run_dir`` already holds that training; returns its directory (with snapshots/).

    Training is the only timed part: ``train`` runs it alone so that several arms can be trained back to back on an
    otherwise idle machine and evaluated later (``run`` then reuses the training), e.g. while other work runs."""
    snaps = marks(args.minutes, args.every)
    train_dir = run_dir / "train"
    if trained(train_dir, snaps):
        print(f"reusing the finished training in {train_dir}", flush=True)
        return train_dir
    if ARMS[arm] is None:
        run_step("bench.experiments.trl_grpo_arith",
                 ["--config-name", args.config_name, "--model", args.model, "--seed", str(seed), "--minutes",
                  str(args.minutes), "--snapshot-minutes", *map(str, snaps), "--run-dir", str(train_dir),
                  *args.overrides], train_dir)
    else:
        run_step("rlpost.train", [f"--config-name={args.config_name}", f"model={args.model}", f"seed={seed}",
                                  "eval=none", f"max_train_minutes={args.minutes}",
                                  f"snapshot_minutes=[{','.join(map(str, snaps))}]", "trainer.max_steps=100000",
                                  "trainer.save_strategy=no", "logger=none", *ARMS[arm], *args.overrides], train_dir)
    return train_dir


def group_counts(history: list[dict[str, Any]], groups_per_generation: int) -> dict[str, float]:
    """Steps, generation batches, groups drawn and groups with equal rewards (discarded or skipped) from TRL's log.

    Dynamic sampling logs its own counts; otherwise every logged ``frac_reward_zero_std`` is one generation batch.

    Example:
        >>> group_counts([{"step_time": 1, "frac_reward_zero_std": 0.5}, {"step_time": 1}], 2)
        {'steps': 2, 'generations': 1, 'groups_drawn': 2.0, 'groups_uniform': 1.0}
    """
    steps = sum(1 for h in history if "step_time" in h)
    gens = [h for h in history if "frac_reward_zero_std" in h]
    if any("dynamic_sampling/groups_drawn" in h for h in history):
        drawn = sum(h.get("dynamic_sampling/groups_drawn", 0.0) for h in history)
        uniform = sum(h.get("dynamic_sampling/groups_uniform", 0.0) for h in history)
    else:
        drawn = float(len(gens) * groups_per_generation)
        uniform = sum(h["frac_reward_zero_std"] for h in gens) * groups_per_generation
    return {"steps": steps, "generations": len(gens), "groups_drawn": drawn, "groups_uniform": uniform}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train one arm x seed, evaluate its snapshots (validation; test at 10/20 min with --test)."""
    run_dir = args.work_dir / f"{args.arm}_s{args.seed}"
    train_dir = train(args.arm, args.seed, args, run_dir)
    snap_dir = train_dir / "snapshots"
    taken = json.loads((snap_dir / "snapshots.json").read_text())
    model = [f"model={args.model}"]
    base_val = args.work_dir / "base_eval_val"  # the base model's validation score, shared by every run there
    reuse = base_val if (base_val / "metrics.json").is_file() else None  # refused unless evaluated alike
    base = evaluate(model, base_val, args.val_size, 1, VAL[0], VAL[1], reuse=reuse)["metrics"]
    curve = [{"minutes": 0.0, "elapsed_s": 0.0, "step": 0, "val_accuracy": base["accuracy"]}]
    for snap in taken:
        m = evaluate([*model, f"model.path={snap['path']}"], run_dir / f"eval_val_min{snap['minutes']:g}",
                     args.val_size, 1, VAL[0], VAL[1])["metrics"]
        curve.append({**{k: snap[k] for k in ("minutes", "elapsed_s", "step")}, "val_accuracy": m["accuracy"]})
    test: dict[str, Any] = {}
    if args.test:
        for snap in (s for s in taken if s["minutes"] in REPORT_AT):
            test[f"{snap['minutes']:g}"] = {
                style: evaluate([*model, f"model.path={snap['path']}"],
                                run_dir / f"eval_test_{style}_min{snap['minutes']:g}", args.test_size, 1, style,
                                seed)["metrics"] for style, seed in TEST}
    history = json.loads((train_dir / "log_history.json").read_text())
    per_gen = args.groups_per_generation
    result = {"arm": args.arm, "seed": args.seed, "curve": curve, "test": test,
              "counts": group_counts(history, per_gen), "median_step_s": median_step_s(train_dir),
              "settings": {"config_name": args.config_name, "model": args.model, "minutes": args.minutes,
                           "every": args.every, "val": {"style": VAL[0], "seed": VAL[1], "size": args.val_size},
                           "test_size": args.test_size, "arm_overrides": ARMS[args.arm],
                           "overrides": args.overrides, **machine_info()}}
    (run_dir / "run.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("arm", "seed", "counts")}), flush=True)
    return result


def median_step_s(train_dir: Path) -> float | None:
    """Median ``step_time`` of a training's log history (None when the training folder is not there)."""
    path = train_dir / "log_history.json"
    if not path.is_file():
        return None
    times = [h["step_time"] for h in json.loads(path.read_text()) if h.get("step_time") is not None]
    return statistics.median(times) if times else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["train", "run", "report"],
                        help="train: the timed training only; run: train (or reuse it) and evaluate; report")
    parser.add_argument("--arm", choices=list(ARMS), default="dynamic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config-name", default="grpo_smollm2_arith_20min")
    parser.add_argument("--model", default="smollm2_135m")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=2.0, help="snapshot interval (training minutes)")
    parser.add_argument("--val-size", type=int, default=100)
    parser.add_argument("--test", action="store_true", help="also evaluate the 10/20-min snapshots on the test sets")
    parser.add_argument("--test-size", type=int, default=200)
    parser.add_argument("--groups-per-generation", type=int, default=2,
                        help="prompts per generation batch (per_device_train_batch_size / num_generations)")
    parser.add_argument("--target", type=float, default=None,
                        help="report: the plain-TRL final validation accuracy to time against, when the trl runs "
                             "are reported elsewhere (default: from the trl runs of this report)")
    add_output_args(parser)  # --work-dir: the runs (<arm>_s<seed>/run.json) that report aggregates
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every arm's training run")
    args = resolve_outputs(parser.parse_intermixed_args(argv), "grpo_tta")
    if args.command == "train":
        train(args.arm, args.seed, args, args.work_dir / f"{args.arm}_s{args.seed}")
    else:
        from bench.experiments.grpo_tta_report import report

        run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
