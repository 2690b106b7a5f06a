"""SFT step time: rlpost's answer-only LoRA SFT step vs plain TRL ``SFTTrainer``, same rows, same seed.

Both arms build the same ``trl.SFTTrainer`` from the ``sft`` config (TALLRec prompts, chat template, LoRA r=8 on
q/v, ``completion_only_loss``, precision by ``trainer.bf16=auto``) and train ``--steps`` optimiser steps (after
``--warmup`` untimed ones), each arm in its own process:

- ``trl``: TRL 1.16 as shipped. Its fused LM head projects *every* position on CPU.
- ``rlpost``: with :func:`rlpost.runtime.trl_patches.compact_fused_head_on_cpu` (what ``rlpost-train`` applies):
  only the positions that carry a label (the answer tokens) go through the LM head.

Figures: seconds per step (median), the rlpost/trl ratio, peak RSS, and the correctness check: the per-step training
losses of the two arms (same data order and seed) and their largest difference.

    python -m bench speed sft_step --tag smoke --model tiny_random --steps 2 --warmup 1  # seconds (uses test fixtures)
    python -m bench speed sft_step --tag TAG --model smollm2_135m                      # ~4 min on 2 cores

Data: TALLRec movie from ``$RLPOST_DATA`` (default ``../shared/data``), else the synthetic test fixture.
Writes ``bench/results/sft_step/<tag>/result.{json,md}`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
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
    compose_config,
    machine_info,
    recorded_settings,
    resolve_outputs,
    write_results,
)

ARMS = ("trl", "rlpost")


def data_overrides() -> list[str]:
    """TALLRec movie files when present, else the synthetic fixture (tests/assets/tallrec)."""
    base = Path(os.environ.get("RLPOST_DATA", ROOT.parent / "shared" / "data")) / "tallrec" / "movie"
    if not (base / "train.json").is_file():
        base = ROOT / "tests" / "assets" / "tallrec"
    return [f"data.splits.{s}_path={base / (s + '.json')}" for s in ("train", "valid", "test")]


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One arm in this process: build the trainer like the SFT pipeline, time each optimiser step."""
    import resource

    import torch
    from datasets import Dataset
    from hydra.utils import instantiate
    from transformers import TrainerCallback, set_seed
    from trl import SFTTrainer

    from rlpost.data.sources.tallrec import to_prompt_completion
    from rlpost.runtime.model import build_peft, load_policy
    from rlpost.runtime.trl_args import build_trl_args
    from rlpost.runtime.trl_patches import compact_fused_head_on_cpu

    if args.worker == "rlpost" and not compact_fused_head_on_cpu():
        raise SystemExit("this TRL version has no trl.trainer.utils._use_triton: nothing to compare")
    torch.set_num_threads(args.threads or torch.get_num_threads())
    work = Path(args.worker_dir)
    steps = args.warmup + args.steps
    cfg = compose_config("sft", [f"model={args.model}", "logger=none", f"run_dir={work}", "run_name=sft_step",
                                 f"seed={args.seed}",
                                 f"data.splits.num_train={steps * args.batch}", f"trainer.max_steps={steps}",
                                 f"trainer.per_device_train_batch_size={args.batch}", "trainer.logging_steps=1",
                                 "trainer.save_strategy=no", "trainer.disable_tqdm=true", *data_overrides()])
    set_seed(cfg.seed)
    model, tokenizer = load_policy(cfg.model)
    splits = instantiate(cfg.data.splits, seed=cfg.seed)
    rows = to_prompt_completion(splits["train"], instantiate(cfg.data.prompt), tokenizer)
    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    trainer = SFTTrainer(model=model, args=build_trl_args(cfg.trainer), processing_class=tokenizer,
                         peft_config=build_peft(cfg.get("peft")), train_dataset=Dataset.from_list(rows),
                         callbacks=[StepTimer()])
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    prompt_tokens = [len(tokenizer(r["prompt"]).input_ids) for r in rows]
    return {"step_s": times[args.warmup:], "losses": losses, "prompt_tokens_mean": statistics.mean(prompt_tokens),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_arm(args: argparse.Namespace, arm: str, work: Path) -> dict[str, Any]:
    out = work / f"{arm}.json"
    cmd = [sys.executable, "-m", "bench.speed.sft_step", "--worker", arm, "--worker-dir", str(work / arm),
           "--result", str(out), "--model", args.model, "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--batch", str(args.batch), "--seed", str(args.seed), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"sft_step arm {arm} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def format_table(data: dict[str, Any]) -> str:
    s = data["settings"]
    lines = [f"# SFT step time ({s['model']}, batch {s['batch']}, ~{data['arms']['trl']['prompt_tokens_mean']:.0f}"
             f"-token prompts, answer-only loss, {s['steps']} timed steps)", "",
             "| arm | s/step (median) | peak RSS MB |", "|---|---|---|"]
    for arm in ARMS:
        a = data["arms"][arm]
        lines.append(f"| {arm} | {a['step_s_median']:.2f} | {a['peak_rss_mb']:.0f} |")
    lines += ["", f"rlpost / trl step time: **{data['ratio']:.2f}x** (speed-up {1 / data['ratio']:.2f}x); "
              f"largest per-step loss difference {data['max_loss_diff']:.2e} over {len(data['arms']['trl']['losses'])}"
              " steps (same data order and seed).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2_135m")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    add_output_args(p, work_dir=False)
    p.add_argument("--worker", choices=ARMS, help=argparse.SUPPRESS)
    p.add_argument("--worker-dir", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.worker:
        resolve_outputs(args, "sft_step")
    if args.worker:
        result = worker(args)
        Path(args.result).write_text(json.dumps(result))
        return result
    with tempfile.TemporaryDirectory(prefix="sft_step-") as tmp:
        arms = {arm: run_arm(args, arm, Path(tmp)) for arm in ARMS}
    for a in arms.values():
        a["step_s_median"] = statistics.median(a["step_s"])
    data = {"settings": recorded_settings(args, "worker", "worker_dir", "result"),
            "machine": machine_info(), "arms": arms,
            "ratio": arms["rlpost"]["step_s_median"] / arms["trl"]["step_s_median"],
            "max_loss_diff": max(abs(x - y) for x, y in zip(arms["trl"]["losses"], arms["rlpost"]["losses"],
                                                            strict=True))}
    data["settings"]["model_name"] = args.model
    write_results(args.out, data, format_table(data))
    return data


if __name__ == "__main__":
    main()
