"""grpo_tta report: every run of a tag (bench/experiments/grpo_tta.py) aggregated over seeds: mean validation
curves, test accuracy at 10/20 min with standard errors, group counts, the time each arm needs to reach plain TRL's
20-minute validation accuracy; result.{json,md} and grpo_tta.png."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bench.experiments.grpo_tta import ARMS, REPORT_AT, TEST, median_step_s
from bench.report import pct, write_results


def mean_se(xs: list[float]) -> tuple[float | None, float | None]:
    """Mean and standard error over seeds (SE None for one seed).

    Example:
        >>> mean_se([0.5, 0.7])
        (0.6, 0.1)
    """
    if not xs:
        return None, None
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, None
    var = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    return round(m, 10), round(math.sqrt(var / len(xs)), 10)


def time_to(curve: list[tuple[float, float]], target: float) -> float | None:
    """First training minute at which a (minutes, accuracy) curve reaches ``target``, linearly interpolated.

    Example:
        >>> time_to([(0, 0.4), (2, 0.5), (4, 0.7)], 0.6)
        3.0
        >>> time_to([(0, 0.4), (2, 0.5)], 0.6) is None, time_to([(0, 0.4), (2, 0.5)], 0.4)
        (True, 0)
    """
    if curve and curve[0][1] >= target:
        return curve[0][0]
    for (t0, a0), (t1, a1) in zip(curve, curve[1:], strict=False):
        if a1 >= target:
            return t1 if a1 == a0 or a0 >= target else t0 + (t1 - t0) * (target - a0) / (a1 - a0)
    return None


def load_runs(work_dir: Path, kept: Path) -> list[dict[str, Any]]:
    """Every ``<arm>_s<seed>/run.json`` under ``work_dir``, copied to ``kept/<arm>_s<seed>.json`` (committed with the
    results), plus the kept copies of runs whose work files are gone, so a report can add seeds later."""
    from rlpost.io import write_json

    runs = {p.parent.name: json.loads(p.read_text()) for p in sorted(work_dir.glob("*_s*/run.json"))}
    for name, run_result in runs.items():
        write_json(kept / f"{name}.json", run_result, indent=1)
    for p in sorted(kept.glob("*_s*.json")) if kept.is_dir() else []:
        runs.setdefault(p.stem, json.loads(p.read_text()))
    return [runs[k] for k in sorted(runs)]


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Aggregate every run (:func:`load_runs`): mean curves, test accuracy at 10/20 min (mean +- SE), counts, the
    time dynamic sampling needs to reach the plain-TRL 20-minute validation accuracy; table + PNG."""
    runs = load_runs(args.work_dir, args.out / "runs")
    if not runs:
        raise SystemExit(f"no runs under {args.work_dir}: run `python -m bench experiment grpo_tta --tag TAG run "
                         "--arm ARM --seed S` first")
    arms: dict[str, Any] = {}
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        if not mine:
            continue
        minutes = sorted({p["minutes"] for r in mine for p in r["curve"]})
        curve = [(t, mean_se([p["val_accuracy"] for r in mine for p in r["curve"] if p["minutes"] == t]))
                 for t in minutes]
        test = {f"{t:g}": {style: mean_se([r["test"][f"{t:g}"][style]["accuracy"] for r in mine
                                           if f"{t:g}" in r["test"]]) for style, _ in TEST} for t in REPORT_AT}
        counts = {k: mean_se([r["counts"][k] for r in mine]) for k in mine[0]["counts"]}
        step_s = [r.get("median_step_s") or median_step_s(args.work_dir / f"{arm}_s{r['seed']}" / "train")
                  for r in mine]
        arms[arm] = {"seeds": [r["seed"] for r in mine], "val_curve": curve, "test": test, "counts": counts,
                     "median_step_s": mean_se([x for x in step_s if x is not None]),
                     "curves": [[(p["minutes"], p["val_accuracy"]) for p in r["curve"]] for r in mine]}
    machines = sorted({f"{r['settings'].get('cpu_model')} ({r['settings'].get('cpu_capability')})" for r in runs})
    result = {"arms": arms, "settings": runs[0]["settings"], "machines": machines,
              "dates": sorted({str(r["settings"].get("date")) for r in runs})}
    if "trl" in arms or args.target is not None:
        target = args.target if args.target is not None else arms["trl"]["val_curve"][-1][1][0]
        budget = float(runs[0]["settings"]["minutes"]) if args.target is not None else arms["trl"]["val_curve"][-1][0]
        result["target"] = {"trl_final_val_accuracy": target, "budget_min": budget,
                            "given": args.target is not None}
        for a in arms.values():
            t = time_to([(m, ms[0]) for m, ms in a["val_curve"]], target)
            a["time_to_trl_final_min"] = t
            a["fraction_of_budget"] = None if t is None else t / result["target"]["budget_min"]
            a["time_to_trl_final_per_seed"] = [time_to(c, target) for c in a["curves"]]
    plot(arms, args.out / "grpo_tta.png")
    write_results(args.out, result, table(result))
    return result


def plot(arms: dict[str, Any], path: Path) -> None:
    """Validation accuracy vs training minutes, one line per arm (mean over seeds, SE bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for arm, a in arms.items():
        xs = [m for m, _ in a["val_curve"]]
        ys = [ms[0] for _, ms in a["val_curve"]]
        es = [ms[1] or 0.0 for _, ms in a["val_curve"]]
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=f"{arm} (seeds {a['seeds']})")
    ax.set_xlabel("training wall-clock (min)")
    ax.set_ylabel("validation accuracy (greedy)")
    ax.grid(alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _pm(ms: tuple[float | None, float | None]) -> str:
    m, se = ms
    return "-" if m is None else (pct(m) if se is None else f"{pct(m)} ± {pct(se)}")


def table(r: dict[str, Any]) -> str:
    """Markdown summary."""
    rows = ["| arm | seeds | test plain @10 | test plain @20 | test word @10 | test word @20 | steps | groups drawn "
            "| groups equal-reward | median s/step | time to TRL's 20-min val acc (mean curve; per seed) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for arm, a in r["arms"].items():
        t, c = a["test"], a["counts"]
        ttt = a.get("time_to_trl_final_min")
        ttt_s = "-" if ttt is None else f"{ttt:.1f} min ({a['fraction_of_budget']:.0%})"
        per_seed = ", ".join("-" if x is None else f"{x:.1f}" for x in a.get("time_to_trl_final_per_seed", []))
        step_s = a["median_step_s"][0]
        rows.append(f"| {arm} | {a['seeds']} | {_pm(t['10']['plain'])} | {_pm(t['20']['plain'])} | "
                    f"{_pm(t['10']['word'])} | {_pm(t['20']['word'])} | {c['steps'][0]:.0f} | "
                    f"{c['groups_drawn'][0]:.0f} | {c['groups_uniform'][0]:.0f} | "
                    f"{'-' if step_s is None else f'{step_s:.1f}'} | {ttt_s}; {per_seed} |")
    s = r["settings"]
    rows += ["", f"Mean ± standard error over seeds. Validation curve: {s['val']}, greedy. Config "
             f"{s['config_name']}, model {s['model']}, {s['minutes']} min, snapshots every {s['every']} min. "
             f"Runs: {', '.join(r['dates'])} on {'; '.join(r['machines'])}. Steps, groups and s/step are means over "
             "seeds; per-seed times are against the mean TRL target"
             + (" (given with --target: the trl runs are reported elsewhere)." if r.get("target", {}).get("given")
                else ".")]
    return "\n".join(rows) + "\n"
