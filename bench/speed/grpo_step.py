"""GRPO step time of two variants of rlpost's GRPO pipeline, measured in the same invocation.

``--compare engine`` (default): ``rollout.engine=rlpost`` (shared-prefill decode via TRL's rollout_func) vs ``trl``
(TRL generate). ``--compare skip``: training on every row (``algo.skip_zero_advantage=false``, what TRL does) vs
skipping the zero-advantage rows (``true``); the loss is the same, so both runs follow the same trajectory.

Both runs use identical settings (model, batch, G, completion length, bf16, threads, seed); only the compared key
differs, so the ratio isolates it. Each run is a fresh process, one after the other. The ratio is that of the median
step times after step 1 (bench/report.py: the first step pays one-off costs).

    python -m bench speed grpo_step --tag TAG                                   # tiny random model, ~1 min
    python -m bench speed grpo_step --tag engines --model smollm2_135m --steps 3 --batch 8 --num-generations 8 \\
        --max-new-tokens 32
    python -m bench speed grpo_step --tag skip_trained --compare skip --model smollm2_135m --steps 12 --batch 16 \\
        --max-new-tokens 48
        --extra model.path=bench/runs/grpo_arith/addmix/train/final

Writes ``bench/results/grpo_step/<tag>/result.json`` and ``result.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import (
    ROOT,
    add_output_args,
    child_env,
    cpu_text,
    machine_info,
    median_after_warmup,
    recorded_settings,
    resolve_outputs,
    step_time_ratio,
    write_results,
)

STEP_TIME = re.compile(r"'step_time': '?([0-9.eE+-]+)'?")
# --compare: (baseline, variant), each a name and the overrides that set the compared key
VARIANTS = {
    "engine": (("trl", ["rollout.engine=trl"]), ("rlpost", ["rollout.engine=rlpost"])),
    "skip": (("all_rows", ["rollout.engine=rlpost", "algo.skip_zero_advantage=false"]),
             ("skip_zero_adv", ["rollout.engine=rlpost", "algo.skip_zero_advantage=true"])),
}


def overrides(args: argparse.Namespace, variant: list[str]) -> list[str]:
    """Hydra overrides shared by both variants, then the variant's own."""
    return [f"model={args.model}", "logger=none", "eval=none", "trainer.save_strategy=no", f"trainer.bf16={args.bf16}",
            "max_train_minutes=null",
            f"trainer.max_steps={args.steps}", f"trainer.per_device_train_batch_size={args.batch}",
            f"algo.num_generations={args.num_generations}", f"sampling.max_new_tokens={args.max_new_tokens}",
            "trainer.disable_tqdm=true", f"seed={args.seed}", *args.extra, *variant]


def run_engine(args: argparse.Namespace, engine: str, work: Path, variant: list[str]) -> dict[str, Any]:
    """Train ``args.steps`` GRPO steps in a fresh process; returns s/step, peak RSS and the logged trajectory."""
    run_dir, rss_dir = work / engine, work / f"rss-{engine}"
    env = child_env(RLPOST_RUN_DIR=str(run_dir), RLPOST_BENCH_RSS_DIR=str(rss_dir), TOKENIZERS_PARALLELISM="false",
                    TRL_EXPERIMENTAL_SILENCE="1")
    cmd = [sys.executable, str(ROOT / "bench" / "speed" / "_rss_entry.py"), "--config-name=grpo",
           *overrides(args, variant)]
    start = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if out.returncode != 0:
        raise SystemExit(f"engine={engine} failed (exit {out.returncode}):\n{(out.stdout + out.stderr)[-4000:]}")
    steps = [float(x) for x in STEP_TIME.findall(out.stdout + out.stderr)]
    train = json.loads((run_dir / "metrics.json").read_text())["train"]
    logged = [h for h in json.loads((run_dir / "log_history.json").read_text()) if "step_time" in h]
    return {"engine": engine, "steps": train["steps"], "step_times_s": steps,
            "loss": [h.get("loss") for h in logged], "reward": [h.get("reward") for h in logged],
            "frac_reward_zero_std": statistics.mean(h.get("frac_reward_zero_std", 0.0) for h in logged),
            "zero_adv_rows_skipped": statistics.mean(h.get("zero_adv_rows_skipped", 0.0) for h in logged),
            "s_per_step_mean": train["runtime_s"] / max(train["steps"], 1),
            "s_per_step_median_after_first": median_after_warmup(steps),
            "peak_rss_mib": json.loads((rss_dir / "rank0.json").read_text())["peak_rss_mib"],
            "wall_s_including_startup": time.time() - start}


def format_table(data: dict[str, Any]) -> str:
    """Markdown: one row per variant and the variant/baseline ratio."""
    s = data["settings"]
    base, new = (r["engine"] for r in data["results"])
    model = s["model"] + "".join(f", {x}" for x in s.get("extra", []))
    lines = [f"# GRPO step: {new} vs {base} ({model}, batch {s['batch']}, G={s['num_generations']}, "
             f"{s['max_new_tokens']} new tokens, bf16={s['bf16']}, {s['threads']} threads, {cpu_text(s)})", "",
             "| variant | s/step (median after step 1) | s/step (mean incl. step 1) | groups with equal rewards "
             "| rows skipped | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for r in data["results"]:
        med = median_after_warmup(r["step_times_s"])
        med_text = "n/a" if med is None else f"{med:.2f}"
        shares = [f"{r[k]:.2f}" if k in r else "n/a" for k in ("frac_reward_zero_std", "zero_adv_rows_skipped")]
        lines.append(f"| {r['engine']} | {med_text} | {r['s_per_step_mean']:.2f} | {shares[0]} | {shares[1]} "
                     f"| {r['peak_rss_mib']:.0f} |")
    ratio = step_time_ratio(data["results"][1]["step_times_s"], data["results"][0]["step_times_s"])
    ratio_text = "n/a (a single step per arm)" if ratio is None else f"**{ratio:.2f}x**"
    lines += ["", f"Step time {new} / {base} (median s/step after step 1): {ratio_text} (lower is faster; "
              f"{len(data['results'][0]['step_times_s'])} steps per arm)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both variants one after another and write result.json / .md."""

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny_random")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=8, help="per-device train batch (completions)")
    p.add_argument("--num-generations", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--bf16", default="auto", choices=["auto", "true", "false"], help="trainer.bf16 of both runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--compare", default="engine", choices=sorted(VARIANTS))
    p.add_argument("--extra", nargs="*", default=[], help="Hydra overrides for both runs (e.g. model.path=DIR)")
    add_output_args(p, work_dir=False)
    args = resolve_outputs(p.parse_args(argv), "grpo_step")
    with tempfile.TemporaryDirectory(prefix="rlpost-grpo-step-") as work:
        results = [run_engine(args, name, Path(work), variant) for name, variant in VARIANTS[args.compare]]
    settings = recorded_settings(args, "timeout")
    data = {"settings": {**settings, **machine_info()}, "results": results,
            "ratio_step_time": step_time_ratio(results[1]["step_times_s"], results[0]["step_times_s"]),
            "ratio_step_time_mean": results[1]["s_per_step_mean"] / results[0]["s_per_step_mean"]}
    write_results(args.out, data, format_table(data))
    return data


if __name__ == "__main__":
    main()
