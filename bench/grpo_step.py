"""GRPO step time: ``rollout.engine=rlpost`` (shared-prefill decode via TRL's rollout_func) vs ``trl`` (TRL generate).

Both runs use rlpost's GRPO pipeline with identical settings (model, batch, G, completion length, bf16, threads,
seed); only ``rollout.engine`` differs, so the ratio isolates the rollout path. Each run is a fresh process, the two
alternate, and the ratio is measured in the same invocation.

    python -m bench.grpo_step                                   # tiny random model, ~1 min
    python -m bench.grpo_step --model smollm2_135m --steps 3 --batch 8 --num-generations 8 --max-new-tokens 32

Writes ``bench/results/grpo_step.json`` and ``grpo_step.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import ROOT, machine_info, write_results

STEP_TIME = re.compile(r"'step_time': '?([0-9.eE+-]+)'?")
ENGINES = ("trl", "rlpost")


def overrides(args: argparse.Namespace, engine: str) -> list[str]:
    """Hydra overrides shared by both engines; only ``rollout.engine`` differs."""
    return [f"model={args.model}", "logger=none", "eval=none", "trainer.save_strategy=no", f"trainer.bf16={args.bf16}",
            f"trainer.max_steps={args.steps}", f"trainer.per_device_train_batch_size={args.batch}",
            f"algo.num_generations={args.num_generations}", f"rollout.max_new_tokens={args.max_new_tokens}",
            "trainer.disable_tqdm=true", f"rollout.engine={engine}", f"seed={args.seed}"]


def run_engine(args: argparse.Namespace, engine: str, work: Path) -> dict[str, Any]:
    """Train ``args.steps`` GRPO steps in a fresh process; returns s/step and peak RSS."""
    run_dir, rss_dir = work / engine, work / f"rss-{engine}"
    env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), "RLPOST_BENCH_RSS_DIR": str(rss_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1"}
    cmd = [sys.executable, str(ROOT / "bench" / "_rss_entry.py"), "--config-name=grpo", *overrides(args, engine)]
    start = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if out.returncode != 0:
        raise SystemExit(f"engine={engine} failed (exit {out.returncode}):\n{(out.stdout + out.stderr)[-4000:]}")
    steps = [float(x) for x in STEP_TIME.findall(out.stdout + out.stderr)]
    train = json.loads((run_dir / "metrics.json").read_text())["train"]
    return {"engine": engine, "steps": train["steps"], "step_times_s": steps,
            "s_per_step_mean": train["train_runtime_s"] / max(train["steps"], 1),
            "s_per_step_median_after_first": statistics.median(steps[1:]) if len(steps) > 1 else None,
            "peak_rss_mib": json.loads((rss_dir / "rank0.json").read_text())["peak_rss_mib"],
            "wall_s_including_startup": time.time() - start}


def format_table(data: dict[str, Any]) -> str:
    """Markdown: one row per engine and the rlpost/trl ratio."""
    s = data["settings"]
    lines = [f"# GRPO step: rollout.engine=rlpost vs trl ({s['model']}, batch {s['batch']}, G={s['num_generations']}, "
             f"{s['max_new_tokens']} new tokens, bf16={s['bf16']}, {s['threads']} threads)", "",
             "| engine | s/step (mean) | s/step (median after step 1) | peak RSS MiB |", "|---|---|---|---|"]
    for r in data["results"]:
        med = "n/a" if r["s_per_step_median_after_first"] is None else f"{r['s_per_step_median_after_first']:.2f}"
        lines.append(f"| {r['engine']} | {r['s_per_step_mean']:.2f} | {med} | {r['peak_rss_mib']:.0f} |")
    lines += ["", f"Step time rlpost / trl (mean s/step): **{data['ratio_step_time']:.2f}x** (lower is faster)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both engines one after another and write grpo_step.json / .md."""

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny_random")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=8, help="per-device train batch (completions)")
    p.add_argument("--num-generations", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--bf16", default="true", choices=["true", "false"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rlpost-grpo-step-") as work:
        results = [run_engine(args, engine, Path(work)) for engine in ENGINES]
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "timeout")}
    data = {"settings": {**settings, **machine_info()}, "results": results,
            "ratio_step_time": results[1]["s_per_step_mean"] / results[0]["s_per_step_mean"]}
    write_results("grpo_step", data, format_table(data), args.out)
    return data


if __name__ == "__main__":
    main()
