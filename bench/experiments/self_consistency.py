"""Benchmark label-free RLVR: base vs gold-reward GRPO vs online self-consistency vs offline pseudo-labels.

Every arm runs ``python -m rlpost.train`` with the same seed, step budget, prompts and held-out set. Arms train one
after the other, never in parallel. Each arm writes its run directory under ``<out>/runs/<arm>``. The script
collects, from each run:
- held-out greedy accuracy and maj@k before and after training;
- the per-step training logs (reward, entropy, and the self-consistency label-quality metrics);
- the guards' reports.

It then writes ``<out>/result.json``,
``result.md`` and ``self_consistency.png``. Nothing is hard-coded: the tables report what
was measured.

    python -m bench experiment self_consistency --tag TAG      # SmolLM2, 40 steps per arm (CPU: ~1.5 h)
    python -m bench experiment self_consistency --tag TAG --arms gold sc sc03 sc03_guarded
    python -m bench experiment self_consistency --model tiny_random --smoke --steps 1 --out /tmp/bench  # plumbing
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.report import add_output_args, recorded_settings, resolve_outputs, run_step

# arm -> Hydra overrides (on top of the common ones); "base" is the before-training evaluation of the first arm
ARMS: dict[str, list[str]] = {
    "gold": ["reward=accuracy"],
    "sc": ["reward=self_consistency", "reward.funcs.self_consistency.min_agreement=0.5"],
    "offline": ["reward=accuracy", "guards=offline_labels", "guards.base_labels.min_agreement=0.5"],
    "sc03": ["reward=self_consistency", "reward.funcs.self_consistency.min_agreement=0.3"],
    "sc03_guarded": ["reward=self_consistency", "reward.funcs.self_consistency.min_agreement=0.3", "guards=srt"],
    # the online arm with SRT's guards, for long budgets: keeps the best checkpoint on 64 labelled validation rows
    "sc_guarded": ["reward=self_consistency", "reward.funcs.self_consistency.min_agreement=0.5", "guards=srt",
                   "guards.early_stopping.patience=5"],
}
LABELS = {"base": "base model", "gold": "GRPO, gold reward", "sc": "self-consistency (online, min 0.5)",
          "offline": "offline pseudo-labels (base maj@k, min 0.5)", "sc03": "self-consistency (online, min 0.3)",
          "sc03_guarded": "self-consistency (min 0.3) + guards=srt",
          "sc_guarded": "self-consistency (online, min 0.5) + guards=srt"}
CURVE_KEYS = ("reward", "entropy", "self_consistency/label_accuracy", "self_consistency/majority_share",
              "self_consistency/labeled_fraction")


def common_overrides(args: argparse.Namespace) -> list[str]:
    """Settings shared by every arm (the foundation benchmark's: lr 1e-5, 2 prompts x 8, T=0.7; precision auto)."""
    steps = 100_000 if args.minutes else args.steps  # a time budget: the budget callback stops and saves
    out = [f"model={args.model}", "logger=none", f"seed={args.seed}", f"trainer.max_steps={steps}",
           f"trainer.learning_rate={args.lr}", "algo.num_generations=8", "trainer.per_device_train_batch_size=16",
           "sampling.temperature=0.7", f"eval.k={args.eval_k}", f"data.eval_source.size={args.eval_size}",
           "trainer.save_strategy=steps", f"trainer.save_steps={steps}", "+trainer.save_only_model=true"]
    out.append(f"max_train_minutes={args.minutes}" if args.minutes else "max_train_minutes=null")
    out += args.override
    if args.smoke:
        out = ["+debug=cpu_smoke", *[o for o in out if not o.startswith(("algo.num_generations",
                                                                          "trainer.per_device"))]]
    return out


def budget_steps(args: argparse.Namespace) -> int:
    """Steps the budget allows: ``--steps``, or for ``--minutes`` an estimate at 6 s per step (the fastest
    SmolLM2 CPU step measured; on faster hardware the offline arm cycles over its labelled rows)."""
    return int(args.minutes * 60 / 6) + 1 if args.minutes else args.steps


def budget_text(args: argparse.Namespace) -> str:
    return f"{args.minutes:g} min of training per arm" if args.minutes else f"{args.steps} steps"


def run_arm(arm: str, args: argparse.Namespace, evaluate_before: bool) -> dict[str, Any]:
    """Train one arm in a subprocess; returns its metrics, log history and guard reports."""
    run_dir = Path(args.work_dir) / arm
    overrides = [*common_overrides(args), *ARMS[arm], f"eval.before={str(evaluate_before).lower()}"]
    if "guards=offline_labels" in ARMS[arm]:
        # label only what the run consumes: 2 prompts per step (8 completions each, 16 per step)
        overrides.append(f"guards.base_labels.max_rows={2 * budget_steps(args)}")
    if args.smoke and "guards=srt" in ARMS[arm]:
        overrides += ["guards.early_stopping.val_size=4", "guards.early_stopping.eval_steps=1"]
    print(f"[bench] {arm}: {' '.join(overrides)}", flush=True)
    run = run_step("rlpost.train", overrides, run_dir, env={"TOKENIZERS_PARALLELISM": "false"}, reuse=True)
    result = run["metrics"]
    result["wall_s"] = run["wall_s"]
    history = read_log_history(run_dir)
    result["curves"] = {k: [(h["step"], h[k]) for h in history if h.get(k) is not None] for k in CURVE_KEYS}
    result["guards"] = {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "guards").glob("*.json"))}
    return result


def summarise(results: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """One table row per arm: held-out metrics after training (before, for the base model)."""
    rows = []
    for arm, res in results.items():
        m = res.get("after") or res.get("before") or {}
        rows.append({"arm": arm, "label": LABELS.get(arm, arm), "accuracy": m.get("accuracy"),
                     f"maj@{k}": m.get(f"maj@{k}"),
                     **{key: v for key, v in m.items() if key.startswith("accuracy/")},
                     "steps": res.get("train", {}).get("steps"), "wall_min": res.get("wall_s", 0) / 60,
                     "final_label_accuracy": (res.get("curves", {}).get("self_consistency/label_accuracy") or
                                              [(None, None)])[-1][1],
                     "frozen_label_accuracy": res.get("guards", {}).get("base_labels", {}).get("label_accuracy"),
                     "stopped_by": res.get("guards", {}).get("collapse", {}).get("reason"),
                     "kept_step": res.get("guards", {}).get("early_stopping", {}).get("best_step")})
    return rows


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    """Issue 3's targets, from the measured runs: label-free gain >= 80% of the gold gain, no operation down by
    more than 2 points (at the kept checkpoint), and whether each run collapsed (ended below the base model)."""
    base = results.get("base", {}).get("before", {})
    gold = (results.get("gold", {}).get("after") or {}).get("accuracy")
    out: dict[str, Any] = {}
    for arm, res in results.items():
        after = res.get("after") or {}
        if arm == "base" or "accuracy" not in after or "accuracy" not in base:
            continue
        gain = after["accuracy"] - base["accuracy"]
        ops = {k: after[k] - base[k] for k in after if k.startswith("accuracy/") and k in base}
        row = {"gain_points": 100 * gain, "worst_op_change_points": 100 * min(ops.values(), default=0.0),
               "below_base": gain < 0}
        if gold is not None and arm != "gold" and gold > base["accuracy"]:
            row["fraction_of_gold_gain"] = gain / (gold - base["accuracy"])
            row["met"] = row["fraction_of_gold_gain"] >= 0.8 and row["worst_op_change_points"] >= -2
        out[arm] = row
    return out


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def write_markdown(rows: list[dict[str, Any]], results: dict[str, Any], args: argparse.Namespace,
                   path: Path) -> None:
    k = args.eval_k
    groups = sorted({key for r in rows for key in r if key.startswith("accuracy/")})
    head = ["arm", "held-out greedy", *[g.split("/", 1)[1] for g in groups], f"maj@{k}", "steps",
            "wall min (incl. eval)",
            "pseudo-label acc. (last step / frozen)", "collapse detector", "kept step"]
    lines = [f"# Label-free RLVR benchmark ({args.model}, seed {args.seed}, {budget_text(args)}, lr {args.lr}, "
             f"{args.eval_size} held-out problems)", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for r in rows:
        label_acc = r["final_label_accuracy"] if r["final_label_accuracy"] is not None else r["frozen_label_accuracy"]
        cells = [r["label"], pct(r["accuracy"]), *[pct(r.get(g)) for g in groups], pct(r[f"maj@{k}"]),
                 str(r["steps"] or "–"), f"{r['wall_min']:.1f}", pct(label_acc), r["stopped_by"] or "–",
                 "–" if r["kept_step"] is None else str(r["kept_step"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Targets (issue 3): label-free gain >= 80% of the gold-reward gain, no operation down > 2 points:",
              ""]
    for arm, t in check_targets(results).items():
        frac = t.get("fraction_of_gold_gain")
        lines.append(f"- {LABELS.get(arm, arm)}: {t['gain_points']:+.1f} points"
                     + ("" if frac is None else f" = {frac:.0%} of the gold gain")
                     + f", worst operation {t['worst_op_change_points']:+.1f} points"
                     + ("" if "met" not in t else f" -> {'met' if t['met'] else 'not met'}"))
    lines += ["", f"Held-out standard error at n={args.eval_size}: about "
              f"{100 * (0.25 / max(args.eval_size, 1)) ** 0.5:.1f} points at 50% accuracy.",
              "Plot: self_consistency.png (training reward, pseudo-label accuracy and majority share per step)."]
    path.write_text("\n".join(lines) + "\n")


def read_log_history(run_dir: Path) -> list[dict[str, Any]]:
    """The run's full log history: ``log_history.json`` (written at the end, also when a guard stopped the run
    before its first checkpoint), else the newest checkpoint's ``trainer_state.json``."""
    if (run_dir / "log_history.json").is_file():
        return json.loads((run_dir / "log_history.json").read_text())
    states = sorted((run_dir / "checkpoints").glob("checkpoint-*/trainer_state.json"),
                    key=lambda p: int(p.parent.name.split("-")[1]))
    return json.loads(states[-1].read_text())["log_history"] if states else []


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Trailing mean over up to ``window`` values (a step sees 2 prompts, so single steps are mostly noise).

    >>> rolling_mean([0, 1, 0, 1], 2)
    [0.0, 0.5, 0.5, 0.5]
    """
    chunks = (values[max(0, i + 1 - window):i + 1] for i in range(len(values)))
    return [sum(chunk) / len(chunk) for chunk in chunks]


def write_plot(results: dict[str, Any], rows: list[dict[str, Any]], path: Path, window: int = 10) -> None:
    """Per-step curves (faint: each step; line: mean of the last ``window`` steps), the early-stopping validation
    accuracy with the kept step, and the held-out accuracy per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(24, 4.2))
    panels = [("reward", "training reward"), ("self_consistency/label_accuracy", "pseudo-label accuracy"),
              ("self_consistency/majority_share", "majority share")]
    colors = {arm: f"C{i}" for i, arm in enumerate(results)}
    for ax, (key, title) in zip(axes, panels, strict=False):
        for arm, res in results.items():
            pts = res.get("curves", {}).get(key, [])
            if pts:
                steps, vals = [s for s, _ in pts], [v for _, v in pts]
                ax.plot(steps, vals, color=colors[arm], alpha=0.2, lw=0.8)
                ax.plot(steps, rolling_mean(vals, window), color=colors[arm], label=LABELS.get(arm, arm))
        ax.set(title=f"{title} (mean of {window} steps)", xlabel="step")
    axes[0].legend(fontsize=7)
    ax = axes[3]
    for arm, res in results.items():
        stop = res.get("guards", {}).get("early_stopping", {})
        if stop.get("history"):
            ax.plot(*zip(*stop["history"], strict=True), marker="o", color=colors[arm], label=LABELS.get(arm, arm))
            if stop.get("best_step") is not None:
                ax.axvline(stop["best_step"], color=colors[arm], ls="--", lw=0.8)
    ax.set(title="validation accuracy (early stopping; dashed: kept step)", xlabel="step")
    ax.title.set_fontsize(9)
    names = [r["label"] for r in rows]
    axes[4].barh(names, [100 * (r["accuracy"] or 0) for r in rows], color=[colors.get(r["arm"], "C7") for r in rows])
    axes[4].set_title("held-out greedy accuracy (%)")
    axes[4].set_xlim(0, 100)
    axes[4].tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2_135m", help="model group (smollm2_135m, tiny_random, ...)")
    p.add_argument("--arms", nargs="+", default=["gold", "sc", "offline"], choices=sorted(ARMS))
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--minutes", type=float, default=0.0,
                   help="train each arm for this wall-clock budget instead of --steps (equal CPU time per arm)")
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-size", type=int, default=200)
    p.add_argument("--eval-k", type=int, default=8, help="samples per held-out question for maj@k")
    p.add_argument("--smoke", action="store_true", help="add +debug=cpu_smoke (tiny batches; plumbing checks)")
    add_output_args(p)  # --work-dir: one run directory per arm; a finished arm is reused (delete it to re-run)
    p.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides for every arm")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = resolve_outputs(parse_args(argv), "self_consistency")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for i, arm in enumerate(args.arms):
        results[arm] = run_arm(arm, args, evaluate_before=i == 0)
    results = {"base": {"before": results[args.arms[0]].get("before", {})}, **results}
    rows = summarise(results, args.eval_k)
    from rlpost.io import write_json
    from rlpost.runtime.hardware import hardware_facts

    report = {"settings": recorded_settings(args), "hardware": hardware_facts(), "rows": rows,
              "targets": check_targets(results), "runs": results}
    write_json(out / "result.json", report)
    write_markdown(rows, results, args, out / "result.md")
    write_plot(results, rows, out / "self_consistency.png")
    print((out / "result.md").read_text())


if __name__ == "__main__":
    main()
