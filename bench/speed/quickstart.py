"""The README's quickstart, measured: ``rlpost-train`` with no arguments, timed end to end.

    python -m bench speed quickstart --tag TAG               # the default job (~5 min on 2 cores); idle machine
    python -m bench speed quickstart --out /tmp/qs model=tiny_random +debug=cpu_smoke logger=none   # smoke

Runs ``python -m rlpost.train`` (plus any Hydra overrides given) in a fresh process and writes
``bench/results/quickstart/<tag>/result.json`` and ``result.md``: total wall time (process start to exit, model
conversion included when the cache is cold), training time and steps, held-out greedy accuracy before and after
(overall and per operation), the precision the run chose (its ``precision (...)`` log line), the CPU capability and
native bf16 (:func:`rlpost.runtime.hardware.hardware_facts`), versions, and the load average before and after
(a busy machine makes the times meaningless: run it alone). The README's quickstart figures come from this file:
tests/test_readme_claims.py checks that the README quotes its wall time ("5 min 1 s"), steps, accuracies
("43.5% -> 63.5%") and CPU ("CPU AVX512, native bf16").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from bench.report import (
    add_output_args,
    cpu_text,
    machine_info,
    pct,
    precision_line,
    resolve_outputs,
    run_step,
    write_results,
)


def summarise(run: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Figures of one finished ``rlpost-train`` run (``run_step``'s result and its run directory)."""
    metrics = run["metrics"]
    history = json.loads((run_dir / "log_history.json").read_text())
    step_times = [h["step_time"] for h in history if "step_time" in h]
    return {"wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"],
            "train_runtime_s": metrics["train"]["runtime_s"], "steps": metrics["train"]["steps"],
            "step_times_s": step_times, "before": metrics.get("before", {}), "after": metrics.get("after", {}),
            "precision": precision_line(run_dir)}


def table(data: dict[str, Any]) -> str:
    """Markdown summary: the README's quickstart sentence, with its conditions."""
    r, s = data["result"], data["settings"]
    minutes, seconds = divmod(round(r["wall_s"]), 60)
    lines = [f"# Quickstart: `rlpost-train` {' '.join(s['overrides'])}".rstrip(), "",
             f"- Total wall time {minutes} min {seconds} s (process start to exit; SmolLM2 conversion "
             f"{'cached' if s['smollm2_conversion_cached'] else 'included'}); training {r['steps']} steps in "
             f"{r['train_runtime_s']:.0f} s; peak RSS {r['peak_rss_mb']:.0f} MB.",
             f"- Hardware: {s.get('cpu_model', '?')}, {cpu_text(s)}, {s['threads']} threads; load average "
             f"{s['load_before']} before, {data['load_after']} after. {r['precision'] or 'precision not logged'}.",
             "", "| held-out | before | after |", "|---|---|---|"]
    keys = ["accuracy"] + sorted(k for k in r["after"] if k.startswith("accuracy/"))
    lines += [f"| {k} | {pct(r['before'].get(k))} | {pct(r['after'].get(k))} |" for k in keys]
    lines += ["", f"torch {s['torch']}, transformers {s['transformers']}, trl {s['trl']}, {s['date']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the quickstart once and write result.json / .md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_args(p)
    p.add_argument("overrides", nargs="*", help="Hydra overrides (none = the README's quickstart)")
    args = resolve_outputs(p.parse_args(argv), "quickstart")
    shutil.rmtree(args.work_dir, ignore_errors=True)  # a fresh run, never a resumed one
    from rlpost.runtime.model import cache_root

    cached = (cache_root() / "models" / "smollm2_135m_instruct" / "config.json").is_file()
    settings = {"overrides": args.overrides, "load_before": round(os.getloadavg()[0], 2),
                "smollm2_conversion_cached": cached, **machine_info()}
    run = run_step("rlpost.train", args.overrides, args.work_dir)
    data = {"settings": settings, "result": summarise(run, args.work_dir), "load_after": round(os.getloadavg()[0], 2)}
    write_results(args.out, data, table(data))
    return data


if __name__ == "__main__":
    main()
