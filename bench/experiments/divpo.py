"""Benchmark: base vs DPO (rho=0) vs DivPO per diversity criterion, same budget, fresh-sample diversity + quality.

Every arm runs the DivPO pipeline (``rlpost.methods.divpo.pipeline.run``) from the same recipe with the same seed, pool
size, prompts, rounds and DPO steps; only ``algo`` differs. The base model's metrics are the first arm's
``eval_before`` (identical for every arm: same seed, same model). Writes
``bench/results/divpo/<tag>/result.json`` and ``result.md``.

    python -m bench experiment divpo --tag TAG                 # SmolLM2 persona (CPU, see the .md for the time)
    python -m bench experiment divpo --tag smoke --model tiny_random --n 4 --repeats 2 --eval-k 4 --max-new-tokens 8 \\
        --rounds 1 --max-steps 1 --override reward=length --arms dpo divpo_attribute      # smoke test
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from bench.report import add_output_args, compose_config, recorded_settings, resolve_outputs, write_results

ARMS: dict[str, list[str]] = {
    "dpo": ["algo=dpo"],
    "divpo_attribute": ["algo=divpo", "algo/diversity=attribute"],
    "divpo_word": ["algo=divpo", "algo/diversity=word"],
    "divpo_logprob": ["algo=divpo", "algo/diversity=logprob"],
    "divpo_embedding": ["algo=divpo", "algo/diversity=embedding"],
}
# distinct attribute values per sample drawn (invalid samples count as draws): robust to validity differences;
# the paper's unique ratio (distinct / valid values) is reported alongside
HEADLINE = "distinct_per_sample/mean_attribute"
PAPER_METRIC = "unique/mean_attribute"
logger = logging.getLogger("bench.experiments.divpo")


def run_arm(name: str, args: argparse.Namespace, work: Path, first: bool) -> dict[str, Any]:
    """Run one arm; returns its metrics, per-round stats and wall time (or the error if it produced no pairs)."""
    from rlpost.errors import UserError
    from rlpost.methods.divpo.pipeline import run

    overrides = [f"model={args.model}", "logger=none", f"run_dir={work / name}", f"run_name=bench-{name}",
                 f"algo.n={args.n}", f"algo.rounds={args.rounds}", f"data.source.repeats={args.repeats}",
                 f"eval.k={args.eval_k}", f"sampling.max_new_tokens={args.max_new_tokens}",
                 f"eval.sampling.max_new_tokens={args.max_new_tokens}",
                 f"trainer.max_steps={args.max_steps}", f"eval.before={str(first).lower()}",
                 f"eval.embedding_spread={str(args.embedding_spread).lower()}", *ARMS[name], *args.override]
    if args.rho is not None and name != "dpo":
        overrides.append(f"algo.rho={args.rho}")
    cfg = compose_config(args.recipe, overrides)
    start = time.perf_counter()
    try:
        results = run(cfg)
    except UserError as err:
        return {"error": str(err), "wall_s": time.perf_counter() - start}
    wall = time.perf_counter() - start
    rounds = results["divpo"]["rounds"]
    return {"after": results.get("after", {}), "before": results.get("before"), "rounds": rounds,
            "wall_s": wall,
            "tokens_per_s": sum(r["tokens_per_s"] for r in rounds) / len(rounds),
            "generate_s_per_round": sum(r["generate_s"] for r in rounds) / len(rounds),
            "pairs_kept": [r["pairs_kept"] for r in rounds], "rho": cfg.algo.rho}


def check_target(arms: dict[str, Any]) -> dict[str, Any]:
    """Issue 4 target: DivPO attribute diversity >= 1.3x DPO's, valid rate within 5 points (measured, per arm)."""
    dpo = arms.get("dpo", {}).get("after", {})
    out = {}
    for name, arm in arms.items():
        if not name.startswith("divpo") or "after" not in arm or HEADLINE not in dpo:
            continue
        gap = 100 * (arm["after"]["quality/valid_rate"] - dpo["quality/valid_rate"])
        rel = {m: relative_gain(arm["after"].get(m, 0.0), dpo.get(m, 0.0)) for m in (HEADLINE, PAPER_METRIC)}
        out[name] = {"diversity_gain_vs_dpo": rel[HEADLINE], "paper_metric_gain_vs_dpo": rel[PAPER_METRIC],
                     "valid_rate_gap_points": gap, "met": rel[HEADLINE] >= 0.3 and gap >= -5}
    return out


def relative_gain(value: float, baseline: float) -> float:
    """``value / baseline - 1`` (inf when only the baseline is 0)."""
    if baseline > 0:
        return value / baseline - 1
    return float("inf") if value > 0 else 0.0


def to_markdown(report: dict[str, Any]) -> str:
    """A results table: one row per arm."""
    cols = [HEADLINE, PAPER_METRIC, "unique/first_name", "unique/city", "unique/occupation", "entropy/first_name",
            "distinct_1", "compression_ratio", "embedding_spread", "quality/valid_rate", "quality/mean_reward"]
    lines = [f"# DivPO benchmark ({report['settings']['model']}, {report['settings']['recipe']})", "",
             f"Settings: `{json.dumps(report['settings'])}`", "",
             "| arm | " + " | ".join(cols) + " | pairs kept | gen tok/s | gen s/round | wall s |",
             "|" + "---|" * (len(cols) + 5)]
    for name, arm in report["arms"].items():
        if "error" in arm:
            lines.append(f"| {name} | error: {arm['error']} |")
            continue
        m = arm["after"] if name != "base" else arm["metrics"]
        vals = " | ".join(f"{m[c]:.3f}" if c in m else "-" for c in cols)
        extra = ("- | - | - | -" if name == "base" else f"{arm['pairs_kept']} | {arm['tokens_per_s']:.0f} | "
                 f"{arm['generate_s_per_round']:.1f} | {arm['wall_s']:.0f}")
        lines.append(f"| {name} | {vals} | {extra} |")
    lines += ["", f"Target (issue 4): DivPO {HEADLINE} >= 1.3x DPO, valid rate within 5 points.", ""]
    for name, t in report["target"].items():
        lines.append(f"- {name}: diversity {t['diversity_gain_vs_dpo']:+.1%} vs DPO ({PAPER_METRIC} "
                     f"{t['paper_metric_gain_vs_dpo']:+.1%}), valid-rate gap "
                     f"{t['valid_rate_gap_points']:+.1f} points -> {'met' if t['met'] else 'not met'}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="divpo_smollm2_persona")
    p.add_argument("--model", default="smollm2_135m")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--repeats", type=int, default=24)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=3, help="DPO steps per round (same for every arm)")
    p.add_argument("--eval-k", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--rho", type=float, default=None, help="DivPO arms' rho (default: the recipe's)")
    p.add_argument("--embedding-spread", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides for every arm")
    add_output_args(p)
    p.add_argument("--fresh", action="store_true", help="delete --work-dir first (else finished stages are reused)")
    return resolve_outputs(p.parse_args(argv), "divpo")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] %(message)s")
    args = parse_args(argv)
    if args.fresh:
        shutil.rmtree(args.work_dir, ignore_errors=True)
    arms: dict[str, Any] = {}
    for i, name in enumerate(args.arms):
        logger.info("arm %s", name)
        arms[name] = run_arm(name, args, args.work_dir, first=i == 0)
        if arms[name].get("before"):
            arms = {"base": {"metrics": arms[name]["before"]}, **arms}
    from rlpost.runtime.hardware import hardware_facts

    report = {"settings": recorded_settings(args), "hardware": hardware_facts(), "arms": arms,
              "target": check_target(arms)}
    write_results(args.out, report, to_markdown(report))


if __name__ == "__main__":
    main()
