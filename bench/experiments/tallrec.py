"""TALLRec benchmark: zero-shot vs in-context vs LoRA SFT test AUC, and ICL-probe curves before/after SFT.

Writes ``<out>/result.json``, ``result.md``, ``tallrec_icl_probes.png`` and ``tallrec_auc_vs_n.png``. Every number
is measured by this script; nothing is copied in except TALLRec's published LLaMA-7B AUCs, labelled as such.

    python -m bench experiment tallrec --tag TAG                 # SmolLM2, movie + book, 16/64/256 x 3 seeds (hours)
    python -m bench experiment tallrec --tag smoke --model tiny_random --tasks movie --sizes 4 --seeds 0 \\
        --max-steps 1 --data-root tests/assets/bench --test-limit 8 --valid-limit 8 --probe-queries 8   # seconds

Each SFT run is a separate ``python -m rlpost.train`` process (clean peak-memory numbers, same code path as users).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bench.experiments.tallrec_report import SETTINGS, plot_auc_vs_n, plot_probes, summarise, write_markdown
from bench.report import ROOT, add_output_args, recorded_settings, resolve_outputs, run_step
from rlpost.data.sources.claims import make_arithmetic_claims
from rlpost.data.sources.tallrec import ChatPrompt, build_tallrec_splits, history_like_ratio, load_tallrec
from rlpost.eval.binary import binary_metrics
from rlpost.eval.tasks.icl_probe import build_icl_prompt, probe, sample_demos, sample_queries
from rlpost.io import write_json
from rlpost.rollout.label_scores import YesNoScorer

logger = logging.getLogger("bench.experiments.tallrec")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2_135m", help="a conf/model group name")
    p.add_argument("--tasks", nargs="+", default=["movie", "book"])
    p.add_argument("--sft-tasks", nargs="*", default=None,
                   help="tasks that get SFT runs (default: all --tasks; the others get the baselines only)")
    p.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--valid-limit", type=int, default=200)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--icl-k", type=int, default=4)
    p.add_argument("--probe-ks", nargs="+", type=int, default=[0, 2, 4, 8])
    p.add_argument("--probe-queries", type=int, default=200)
    p.add_argument("--claims-queries", type=int, default=None,
                   help="queries of the arithmetic-claims probe (short prompts, cheap; default: --probe-queries)")
    p.add_argument("--data-root", type=Path, default=Path(os.environ.get("RLPOST_DATA", ROOT.parent / "shared/data")))
    add_output_args(p)
    p.add_argument("--multi-token", default="error", help="scorer.multi_token (first for byte-level test models)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--eval-steps", type=int, default=10, help="optimizer steps between validation AUC passes")
    p.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides for every SFT run")
    return p.parse_args(argv)


def task_paths(root: Path, task: str) -> dict[str, str]:
    """TALLRec file paths; book samples its training set from valid.json (no train file upstream)."""
    d = root / "tallrec" / task
    train = d / ("train.json" if task == "movie" else "valid.json")
    return {"train_path": str(train), "valid_path": str(d / "valid.json"), "test_path": str(d / "test.json")}


def load_model(model_group: str, adapter: Path | None = None) -> tuple[Any, Any]:
    """Base model of a conf/model group (optionally with a LoRA adapter on top)."""
    from omegaconf import OmegaConf

    from rlpost.runtime.model import load_policy

    cfg = OmegaConf.load(ROOT / "conf" / "model" / f"{model_group}.yaml")
    model, tok = load_policy(cfg)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model, tok


def run_sft(args: argparse.Namespace, task: str, size: int, seed: int) -> dict[str, Any]:
    """One ``python -m rlpost.train`` SFT run; returns its metrics.json plus wall time."""
    paths = task_paths(args.data_root, task)
    overrides = [f"model={args.model}", f"data=tallrec_{task}", "logger=none", f"seed={seed}",
                 f"data.splits.num_train={size}", f"trainer.max_steps={args.max_steps}",
                 f"data.splits.valid_limit={args.valid_limit}", f"data.splits.test_limit={none(args.test_limit)}",
                 f"eval.scorer.multi_token={args.multi_token}", f"eval.scorer.batch_size={args.batch_size}",
                 f"eval.callback.eval_steps={args.eval_steps}", "eval.before=false",
                 *[f"data.splits.{k}={v}" for k, v in paths.items()], *args.override]
    # the directory name carries a hash of the settings: a finished run is reused only for identical settings
    digest = hashlib.sha256(json.dumps(overrides).encode()).hexdigest()[:8]
    run_dir = args.work_dir / f"{task}_n{size}_s{seed}_{digest}"
    overrides.append(f"hydra.run.dir={run_dir}")
    if not (run_dir / "metrics.json").is_file():
        run = run_step("rlpost.train", ["--config-name", "sft", *overrides], run_dir, env={"WANDB_MODE": "disabled"})
        logger.info("%s n=%d seed=%d done in %.0f s", task, size, seed, run["wall_s"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["run_dir"] = str(run_dir)
    return metrics


def none(value: Any) -> str:
    return "null" if value is None else str(value)


def scored_test_rows(args: argparse.Namespace, task: str) -> list[dict[str, Any]]:
    """The test rows every method is scored on (the same ``--test-limit`` subset as the SFT runs)."""
    return build_tallrec_splits(**task_paths(args.data_root, task), num_train=1, seed=0, valid_limit=1,
                                test_limit=args.test_limit)["test"]


def zero_shot_and_icl(args: argparse.Namespace, model: Any, tok: Any, task: str,
                      test: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Test AUC of the base model: zero-shot (chat prompt, as SFT) and in-context with k gold demonstrations."""
    import random

    scorer = YesNoScorer(batch_size=args.batch_size, multi_token=args.multi_token)
    prompt = ChatPrompt()
    scores = scorer.score(model, tok, [prompt(r, tok) for r in test], desc=f"{task} zero-shot")
    labels = [r["label"] for r in test]
    out = {"zero_shot": binary_metrics(labels, scores, split=f"{task}/zero-shot", logits=True)}
    pool = load_tallrec(task_paths(args.data_root, task)["train_path"])
    rng = random.Random(0)
    icl = [build_icl_prompt(r, sample_demos(pool, args.icl_k, rng, exclude=r), "gold", rng)[0] for r in test]
    scores = scorer.score(model, tok, icl, desc=f"{task} icl k={args.icl_k}")
    out[f"icl_k{args.icl_k}"] = binary_metrics(labels, scores, split=f"{task}/icl", logits=True)
    return out


def heuristic_baseline(test: list[dict[str, Any]], task: str) -> dict[str, float]:
    """Model-free reference on the same test rows: the share of liked items in the user's history."""
    return binary_metrics([r["label"] for r in test], [history_like_ratio(r["input"]) for r in test],
                          split=f"{task}/like-ratio")


def probe_tasks(args: argparse.Namespace, model: Any, tok: Any, task: str) -> list[dict[str, Any]]:
    """ICL-probe curves for the recommendation task and the arithmetic-claims task."""
    scorer = YesNoScorer(batch_size=args.batch_size, multi_token=args.multi_token)
    paths = task_paths(args.data_root, task)
    pool, test = load_tallrec(paths["train_path"]), load_tallrec(paths["test_path"])
    queries = sample_queries(test, args.probe_queries, 0)  # as rlpost-eval eval=icl_probe with eval.seed=0
    claims = make_arithmetic_claims(64 + (args.claims_queries or args.probe_queries), seed=0)
    return (probe(model, tok, scorer, pool, queries, args.probe_ks, SETTINGS, task=task)
            + probe(model, tok, scorer, claims[:64], claims[64:], args.probe_ks, SETTINGS, task="arith_claims"))


def main(argv: list[str]) -> int:
    args = resolve_outputs(parse_args(argv), "tallrec")
    sft_tasks = args.tasks if args.sft_tasks is None else [t for t in args.tasks if t in args.sft_tasks]
    if not sft_tasks:
        raise SystemExit(f"--sft-tasks {args.sft_tasks} names none of --tasks {args.tasks}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in recorded_settings(args).items()}
    from rlpost.runtime.hardware import hardware_facts

    results: dict[str, Any] = {"model": args.model, "settings": settings, "hardware": hardware_facts(), "tasks": {},
                               "probes": {}}
    model, tok = load_model(args.model)
    for task in args.tasks:
        test = scored_test_rows(args, task)
        results["tasks"][task] = {"baselines": zero_shot_and_icl(args, model, tok, task, test),
                                  "heuristic": heuristic_baseline(test, task), "sft": {}, "runs": []}
    results["probes"]["before SFT"] = probe_tasks(args, model, tok, sft_tasks[0])
    for task in sft_tasks:
        for size in args.sizes:
            runs = [run_sft(args, task, size, seed) for seed in args.seeds]
            results["tasks"][task]["runs"] += [{"size": size, "seed": s, **r} for s, r in zip(args.seeds, runs,
                                                                                               strict=True)]
            results["tasks"][task]["sft"][str(size)] = summarise(runs)
    best = results["tasks"][sft_tasks[0]]["runs"][-1]
    tuned, tok = load_model(args.model, Path(best["run_dir"]) / "adapter_best")
    results["probes"][f"after SFT n={best['size']}"] = probe_tasks(args, tuned, tok, sft_tasks[0])
    write_json(args.out / "result.json", results)
    write_markdown(results, args.out / "result.md")
    plot_probes(results["probes"], args.out / "tallrec_icl_probes.png")
    plot_auc_vs_n(results, args.out / "tallrec_auc_vs_n.png")
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
