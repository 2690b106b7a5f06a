"""CPU scale-out benchmark: GRPO seconds per step and peak RSS per process, 1 process vs 2 under DDP/ZeRO-2/ZeRO-3.

Every setting trains the same global batch (1 process x 2B completions, or 2 processes x B) for the same number
of steps; nothing is estimated, every number is measured by the run it belongs to.

    python -m bench speed scale --tag TAG                                   # tiny random model, ~3 min on 2 cores
    python -m bench speed scale --tag TAG --model smollm2_135m --steps 5 --global-batch 16 --num-generations 8 \\
        --max-new-tokens 48

Writes ``bench/results/scale/<tag>/result.json`` and ``result.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import ROOT, add_output_args, child_env, cpu_text, recorded_settings, resolve_outputs, write_results

# name -> (processes, conf/launch group, threads per process; None = --threads split over the processes)
SETTINGS = {"1 process": (1, "single", None), "1 process, 1 thread": (1, "single", 1), "2 x DDP": (2, "single", None),
            "2 x ZeRO-2": (2, "zero2", None), "2 x ZeRO-3": (2, "zero3", None)}
STEP_TIME = re.compile(r"'step_time': '?([0-9.eE+-]+)'?")


def overrides(args: argparse.Namespace, nproc: int, launch: str) -> list[str]:
    """Hydra overrides for one setting: the global batch is split evenly over the processes."""
    per_device = args.global_batch // nproc
    return [f"model={args.model}", f"launch={launch}", "logger=none", "eval=none", "trainer.save_strategy=no",
            "trainer.bf16=false", f"trainer.max_steps={args.steps}", "max_train_minutes=null",
            f"trainer.per_device_train_batch_size={per_device}",
            f"algo.num_generations={args.num_generations}", f"sampling.max_new_tokens={args.max_new_tokens}",
            "trainer.disable_tqdm=true"]


def run_setting(args: argparse.Namespace, name: str, work: Path) -> dict:
    """Train one setting under torchrun and return its measurements."""
    nproc, launch, threads = SETTINGS[name]
    threads = threads or max(1, args.threads // nproc)
    tag = f"{launch}-{nproc}x{threads}"
    run_dir, rss_dir = work / tag, work / f"rss-{tag}"
    env = child_env(RLPOST_RUN_DIR=str(run_dir), RLPOST_BENCH_RSS_DIR=str(rss_dir), TOKENIZERS_PARALLELISM="false",
                    DS_ACCELERATOR=os.environ.get("DS_ACCELERATOR", "cpu"),
                    # same cores for every setting: 1 process x all threads, or each of 2 processes x half of them
                    OMP_NUM_THREADS=str(threads))
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(ROOT / "bench" / "speed" / "_rss_entry.py"), "--config-name=grpo", *overrides(args, nproc, launch)]
    start = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    wall = time.time() - start
    if out.returncode != 0:
        raise SystemExit(f"{name} failed (exit {out.returncode}):\n{(out.stdout + out.stderr)[-4000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())["train"]
    step_times = [float(x) for x in STEP_TIME.findall(out.stdout + out.stderr)]
    rss = [json.loads((rss_dir / f"rank{r}.json").read_text())["peak_rss_mib"] for r in range(nproc)]
    return {"setting": name, "processes": nproc, "launch": launch, "steps": metrics["steps"],
            "per_device_batch": args.global_batch // nproc, "global_batch": args.global_batch,
            "s_per_step_mean": metrics["runtime_s"] / max(metrics["steps"], 1),
            "s_per_step_median_after_first": statistics.median(step_times[1:]) if len(step_times) > 1 else None,
            "peak_rss_mib_per_process": [round(x, 1) for x in rss], "wall_s_including_startup": round(wall, 1),
            "threads_per_process": threads, "load_avg_1min_before": round(load, 2)}


def environment() -> dict:
    """Versions and machine facts recorded next to the numbers."""
    import accelerate
    import deepspeed
    import torch
    import transformers
    import trl

    from rlpost.runtime.hardware import hardware_facts

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "accelerate": accelerate.__version__, "deepspeed": deepspeed.__version__,
            "cpus": os.cpu_count(), "machine": platform.machine(), "cuda": torch.cuda.is_available(),
            **hardware_facts()}


def to_markdown(report: dict) -> str:
    """Render the results table."""
    cfg = report["config"]
    lines = [f"# GRPO scale-out on CPU ({cfg['model']})", "",
             f"Global batch {cfg['global_batch']} completions ({cfg['num_generations']} per prompt), "
             f"{cfg['max_new_tokens']} new tokens, {cfg['steps']} steps, fp32, gloo. Environment: "
             + ", ".join(f"{k} {v}" for k, v in report["environment"].items()) + ".", "",
             "| setting | threads/process | **s/step (median, after step 1)** | s/step (mean incl. step 1) "
             "| peak RSS per process (MiB) | wall incl. startup (s) | load avg before |",
             "|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        med = f"{r['s_per_step_median_after_first']:.3f}" if r["s_per_step_median_after_first"] else "n/a"
        rss = ", ".join(f"{x:.0f}" for x in r["peak_rss_mib_per_process"])
        lines.append(f"| {r['setting']} | {r['threads_per_process']} | **{med}** | {r['s_per_step_mean']:.3f} "
                     f"| {rss} | {r['wall_s_including_startup']} | {r['load_avg_1min_before']} |")
    lines += ["", "Compare settings by the median after step 1 (TRL's per-step `step_time` logs; the first step pays "
              "one-off costs); s/step (mean) = train_runtime / steps. The machine may be shared: see the load "
              f"average column. {cpu_text(report['environment'])}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    """Run every setting one after another (never in parallel) and write the JSON and Markdown reports."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny_random", help="a conf/model group name")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--global-batch", type=int, default=8, help="completions per optimizer step, all processes")
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads shared by the processes")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per setting")
    add_output_args(p, work_dir=False)
    args = resolve_outputs(p.parse_args(argv), "scale")
    if args.global_batch % 2 or args.global_batch % args.num_generations:
        p.error("--global-batch must be even (split over 2 processes) and a multiple of --num-generations")
    with tempfile.TemporaryDirectory(prefix="rlpost-scale-") as work:
        results = [run_setting(args, name, Path(work)) for name in args.settings]
    report = {"config": recorded_settings(args), "environment": environment(), "results": results}
    write_results(args.out, report, to_markdown(report))
    return report


if __name__ == "__main__":
    main()
