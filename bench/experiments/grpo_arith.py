"""GRPO on SmolLM2-135M + arithmetic for a fixed CPU time budget; held-out accuracy before/after.

    python -m bench experiment grpo_arith --tag TAG --minutes 20     # the 20-minute budget (~30 min with evaluation)
    python -m bench experiment grpo_arith --tag recipe --config-name grpo_smollm2_arith_20min   # the tuned recipe
    python -m bench experiment grpo_arith --tag smoke --minutes 2 --model tiny_random --eval-size 8   # smoke

Evaluates on 200 held-out problems (seed 1234, not the training seed) with greedy decoding and maj@k, per
operation, and on 200 differently worded problems of the same arithmetic (word problems, seed 999). Writes
bench/results/grpo_arith/<tag>/result.json and result.md.

Choosing settings: compare candidates with ``--split valid`` (problems drawn with seeds 4321 / 998), then report the
chosen setting once on ``--split test`` (the default, seeds 1234 / 999). Every earlier result in
bench/results/grpo_arith/ was measured on the test seeds, and the recipe was chosen on them (docs/grpo_arith.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.experiments.budget import add_budget_args, mean, reused_eval, train_for_budget, trained_steps
from bench.report import machine_info, pct, precision_line, resolve_outputs, run_step, write_results

# generator seeds of the held-out sets: (plain, word problems) per split; training uses the run seed (0, 1, ...)
SPLIT_SEEDS = {"valid": (4321, 998), "test": (1234, 999)}


def evaluate(model_args: list[str], run_dir: Path, size: int, k: int, style: str, seed: int,
             reuse: Path | None = None) -> dict[str, Any]:
    """rlpost-eval on a generated held-out set; ``reuse``: an earlier run directory of the same evaluation."""
    args = [*model_args, f"data.eval_source.size={size}", f"data.eval_source.seed={seed}",
            f"data.eval_source.style={style}", f"eval.k={k}"]
    if reuse is not None:
        return reused_eval(reuse, args)
    return run_step("rlpost.evaluate", args, run_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_budget_args(parser, minutes=20.0, config_name="grpo")
    parser.add_argument("--eval-size", type=int, default=200)
    parser.add_argument("--split", choices=sorted(SPLIT_SEEDS), default="test",
                        help="valid: for choosing settings; test: report the chosen setting once")
    parser.add_argument("--k", type=int, default=4, help="samples per question for maj@k on the plain set")
    args = resolve_outputs(parser.parse_args(argv), "grpo_arith")
    out = args.work_dir
    model = [f"model={args.model}"]
    train = train_for_budget(args)
    trained = [f"model.path={out / 'train' / 'final'}"]
    results: dict[str, Any] = {"settings": {"minutes": args.minutes, "minutes_total": train["minutes_total"],
                                            "continue_from": str(args.continue_from) if args.continue_from else None,
                                            "model": args.model,
                                            "config_name": args.config_name, "overrides": args.overrides,
                                            "eval_size": args.eval_size, "k": args.k, "split": args.split,
                                            "split_seeds": SPLIT_SEEDS[args.split], **machine_info()}}
    plain_seed, word_seed = SPLIT_SEEDS[args.split]
    for tag, margs in (("before", model), ("after", [*model, *trained])):
        earlier = args.before_from if tag == "before" else None
        results[tag] = {style: evaluate(margs, out / f"eval_{tag}_{style}", args.eval_size, k, style, seed,
                                        reuse=None if earlier is None else earlier / f"eval_before_{style}")["metrics"]
                        for style, k, seed in (("plain", args.k, plain_seed), ("word", 1, word_seed))}
    if args.before_from is not None:
        results["settings"]["before_from"] = str(args.before_from)
    results["settings"]["resolved_trainer"] = resolved_trainer(out / "train")
    steps = trained_steps(out)
    results["train"] = {"steps": len(steps), "wall_s": train["wall_s"], "peak_rss_mb": train["peak_rss_mb"],
                        "s_per_step": sum(h["step_time"] for h in steps) / max(1, len(steps)),
                        "reward_first5": mean([h["reward"] for h in steps[:5]]),
                        "reward_last5": mean([h["reward"] for h in steps[-5:]])}
    write_results(args.out, results, table(results, args.k))


def resolved_trainer(run_dir: Path) -> dict[str, Any]:
    """The training run's effective GRPO settings, read back from its recorded Hydra config."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(run_dir / ".hydra" / "rank0" / "config.yaml")
    trainer, algo, rollout = cfg.trainer, cfg.algo, cfg.rollout  # the saved config is unresolved: read the sources
    sampling = cfg.get("sampling", rollout)  # runs recorded before the sampling group kept it under rollout
    return {"learning_rate": trainer.learning_rate, "lr_scheduler_type": trainer.lr_scheduler_type,
            "per_device_train_batch_size": trainer.per_device_train_batch_size,
            "num_generations": algo.num_generations, "max_completion_length": sampling.max_new_tokens,
            "temperature": sampling.temperature, "engine": rollout.get("engine", "trl"), "loss_type": algo.loss_type,
            "beta": algo.kl_coef, "skip_zero_advantage": algo.get("skip_zero_advantage", "false"),
            "bf16": trainer.bf16, "precision": precision_line(run_dir)}


def table(r: dict[str, Any], k: int) -> str:
    """Markdown summary."""
    split = r["settings"].get("split", "test")
    rows = [f"Held-out split: {split} (generator seeds {r['settings'].get('split_seeds', SPLIT_SEEDS['test'])}).", "",
            "| held-out set | metric | before | after |", "|---|---|---|---|"]
    for split in ("plain", "word"):
        b, a = r["before"][split], r["after"][split]
        keys = ["accuracy"] + sorted(x for x in a if x.startswith("accuracy/"))
        keys += [f"maj@{k}", f"pass@{k}"] if split == "plain" and f"maj@{k}" in a else []
        rows += [f"| {split} | {key} | {pct(b.get(key))} | {pct(a.get(key))} |" for key in keys]
    t = r["train"]
    rows += ["", f"Training: {t['steps']} steps in {r['settings']['minutes']} min budget "
             f"({t['s_per_step']:.1f} s/step), mean reward first 5 steps {pct(t['reward_first5'])} -> last 5 "
             f"{pct(t['reward_last5'])}, peak RSS {t['peak_rss_mb']:.0f} MB. Model {r['settings']['model']}, "
             f"config {r['settings'].get('config_name', 'grpo')}, overrides {r['settings']['overrides']}, "
             f"{r['settings']['date']}."]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
