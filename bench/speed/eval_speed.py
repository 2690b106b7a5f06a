"""Evaluation speed: ``rlpost-eval`` (``evaluate_model``) vs a plain transformers loop, same questions and grading.

Both arms score the same held-out arithmetic questions (the default ``rlpost-eval`` data: ``generate_arithmetic``,
seed 1234, the ``conf/data/arith.yaml`` chat template) with one greedy completion plus ``k`` samples per question
(``conf/eval/math_qa.yaml`` settings: temperature, top-p, ``max_new_tokens``, batch size, bf16 autocast), in this
process, with the model loaded once:

- ``rlpost``: :func:`rlpost.eval.tasks.math_qa.evaluate_model`, the call ``rlpost-eval`` makes after loading
  the model.
- ``plain``: what a user writes with transformers: chat template, left-padded batches of ``eval.batch_size``
  sequences, one greedy ``model.generate`` pass and one sampled pass with ``num_return_sequences=k``, decode, then
  rlpost's own extraction/verification (:func:`score_question`, :func:`aggregate`), so only generation differs.

Timed: the evaluation only (generation + grading), not the model load: wall seconds (the headline) and this
process's CPU seconds (all threads; less sensitive to other jobs on a shared machine, though OpenMP spin-waits
count). Figures: questions/s per arm, the rlpost/plain ratio, process RSS at the start and peak of each arm (the
plain arm runs first; the model's weights are included), and a correctness check: greedy accuracy (and
per-question greedy texts) of the two arms, sampled pass@1 / maj@k of both with their difference and standard error.

    python -m bench speed eval_speed --tag smoke --model tiny_random --questions 8 --k 2 --max-new-tokens 8  # seconds
    python -m bench speed eval_speed --tag TAG --model smollm2_135m                 # ~5 min on 2 cores
    python -m bench speed eval_speed --tag TAG --model smollm2_135m --compare old.json  # refuses other settings

Writes ``bench/results/eval_speed/<tag>/result.json`` and ``result.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import compose_config, machine_info, parse_comparable, pct, write_compared
from bench.speed.rollout import PeakRSS, check_comparable, precision

# settings that must be equal for two runs to be compared
COMPARED_KEYS = ("model", "model_dtype", "autocast_dtype", "questions", "data_seed", "k", "temperature", "top_p",
                 "max_new_tokens", "batch_size", "seed", "prompt_tokens_mean", "threads", "python", "torch",
                 "transformers", "trl")
ARMS = ("plain", "rlpost")


def compose_eval_cfg(args: argparse.Namespace) -> Any:
    """The ``rlpost-eval`` config (conf/evaluate.yaml) with this run's overrides, hydra node dropped."""
    overrides = [f"model={args.model}", f"eval.k={args.k}", f"data.eval_source.size={args.questions}",
                 f"seed={args.seed}", *args.override]
    if args.max_new_tokens is not None:
        overrides.append(f"eval.sampling.max_new_tokens={args.max_new_tokens}")
    return compose_config("evaluate", overrides)


def run_rlpost(model: Any, tok: Any, dataset: Any, template: Any, cfg: Any, out_dir: Path | None) -> dict:
    """rlpost-eval's evaluation call on the loaded model; per-question records read back from samples.jsonl."""
    from rlpost.eval.tasks.math_qa import evaluate_model

    rss_start = PeakRSS.current_mib()
    with PeakRSS() as rss:
        start, cpu = time.perf_counter(), time.process_time()
        metrics = evaluate_model(model, tok, dataset, template, cfg.eval, out_dir, cfg.seed)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    records = []
    if out_dir is not None:
        records = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    return {"wall_s": wall, "cpu_s": cpu, "rss_start_mib": rss_start, "peak_rss_mib": rss.peak, "metrics": metrics,
            "records": records}


def generate_texts(model: Any, tok: Any, texts: list[str], batch: int, n: int, **sampling: Any) -> tuple[list, list]:
    """Plain ``model.generate`` over left-padded batches of ``batch`` prompts; ``n`` decoded completions per prompt."""
    stops = {tok.eos_token_id, tok.pad_token_id}
    completions, lengths = [], []
    for i in range(0, len(texts), batch):
        enc = tok(texts[i : i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**enc, num_return_sequences=n, pad_token_id=tok.pad_token_id, **sampling)
        new = out[:, enc["input_ids"].shape[1] :]  # [B*n, T]
        decoded = tok.batch_decode(new, skip_special_tokens=True)
        rows_len = [next((t for t, tid in enumerate(row) if tid in stops), len(row)) for row in new.tolist()]
        completions += [decoded[j : j + n] for j in range(0, len(decoded), n)]
        lengths += [rows_len[j : j + n] for j in range(0, len(rows_len), n)]
    return completions, lengths


def run_plain(model: Any, tok: Any, rows: list[dict], template: Any, ev: Any, seed: int) -> dict[str, Any]:
    """Greedy pass + sampled pass with plain ``generate``, graded with rlpost's own functions."""
    import torch

    from rlpost.eval.tasks.math_qa import aggregate, score_question

    tok.padding_side = "left"
    dtype = "bf16" if resolved_autocast(ev, model) == "bfloat16" else "fp32"  # what rlpost's arm runs
    rss_start = PeakRSS.current_mib()
    with PeakRSS() as rss, precision(model, dtype):
        start, cpu = time.perf_counter(), time.process_time()
        texts = [tok.apply_chat_template(template(r), tokenize=False, add_generation_prompt=True) for r in rows]
        greedy, greedy_len = generate_texts(model, tok, texts, ev.batch_size, 1, do_sample=False,
                                            max_new_tokens=ev.sampling.max_new_tokens, temperature=None, top_p=None,
                                            top_k=None)
        sampled: list[list[str]] = [[] for _ in rows]
        if ev.k > 1:
            torch.manual_seed(seed)
            # top_k=0: rlpost's top_k=None (off); transformers' default would be top_k=50
            sampled, _ = generate_texts(model, tok, texts, max(1, ev.batch_size // ev.k), ev.k, do_sample=True,
                                        temperature=ev.sampling.temperature, top_p=ev.sampling.top_p, top_k=0,
                                        max_new_tokens=ev.sampling.max_new_tokens)
        generate_s = time.perf_counter() - start
        records = []
        for r, g, g_len, s in zip(rows, greedy, greedy_len, sampled, strict=True):
            rec = score_question(r["answer"], g[0], s, ev.answer_format)
            rec.update(prompt_id=r["prompt_id"], greedy=g[0], greedy_tokens=g_len[0])
            if ev.group_by and ev.group_by in r:
                rec[ev.group_by] = r[ev.group_by]
            records.append(rec)
        metrics = aggregate(records, ev.k, ev.group_by)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "generate_s": generate_s, "rss_start_mib": rss_start,
            "peak_rss_mib": rss.peak, "metrics": metrics, "records": records}


def agreement(plain: dict[str, Any], ours: dict[str, Any], k: int) -> dict[str, Any]:
    """Greedy: accuracies and per-question mismatches; sampled: pass@1 / maj@k of both, difference and its SE."""
    by_id = {r["prompt_id"]: r for r in ours["records"]}
    text_diff = [r["prompt_id"] for r in plain["records"] if by_id[r["prompt_id"]]["greedy"] != r["greedy"]]
    correct_diff = [r["prompt_id"] for r in plain["records"]
                    if by_id[r["prompt_id"]]["greedy_correct"] != r["greedy_correct"]]
    pm, om = plain["metrics"], ours["metrics"]
    out: dict[str, Any] = {
        "greedy_accuracy": {"plain": pm["accuracy"], "rlpost": om["accuracy"]},
        "greedy_accuracy_equal": pm["accuracy"] == om["accuracy"],
        "greedy_text_mismatches": len(text_diff), "greedy_correctness_mismatches": len(correct_diff),
        "greedy_mismatch_ids": text_diff[:20],
    }
    n = pm["n_questions"]
    for key in ("pass@1", f"maj@{k}", f"pass@{k}") if k > 1 else ():
        a, b = pm[key], om[key]
        se = math.sqrt((a * (1 - a) + b * (1 - b)) / n)  # two independent proportions over n questions
        out[key] = {"plain": a, "rlpost": b, "diff": b - a, "se_diff": se, "within_2se": abs(b - a) <= 2 * se}
    return out


def resolved_autocast(ev: Any, model: Any) -> str | None:
    """The autocast dtype ``eval.autocast_dtype`` means on this hardware (``auto``: bf16 only where native)."""
    from rlpost.runtime.hardware import resolve_dtype

    return resolve_dtype(ev.autocast_dtype, device_type=model.device.type, key="eval.autocast_dtype")


def settings_of(args: argparse.Namespace, cfg: Any, model: Any, prompt_tokens_mean: float) -> dict[str, Any]:
    """The recorded settings of a run (compared by ``check_comparable``); the autocast dtype as resolved."""
    ev = cfg.eval
    return {"model": args.model, "model_dtype": str(model.dtype).removeprefix("torch."),
            "autocast_dtype": resolved_autocast(ev, model), "questions": args.questions,
            "data_seed": cfg.data.eval_source.seed,
            "k": ev.k, "temperature": ev.sampling.temperature, "top_p": ev.sampling.top_p,
            "max_new_tokens": ev.sampling.max_new_tokens,
            "batch_size": ev.batch_size, "seed": cfg.seed, "prompt_tokens_mean": round(prompt_tokens_mean, 1),
            "overrides": list(args.override), **machine_info()}


def compare(old_path: Path, new: dict[str, Any]) -> list[str]:
    """Lines ``arm: questions/s new/old`` for two comparable runs; refuses runs with different settings."""
    old = json.loads(Path(old_path).read_text())
    check_comparable(old["settings"], new["settings"], COMPARED_KEYS, bench="bench.speed.eval_speed")
    return [f"{arm}: questions/s {new['arms'][arm]['questions_per_s'] / old['arms'][arm]['questions_per_s']:.2f}x "
            "the earlier run" for arm in ARMS]


def warm_up(model: Any, tok: Any, dataset: Any, template: Any, cfg: Any) -> None:
    """Both arms on two questions with 4 new tokens: first calls pay one-off allocation and kernel selection."""
    from omegaconf import OmegaConf

    warm = OmegaConf.merge(cfg, {"eval": {"sampling": {"max_new_tokens": 4}, "k": min(2, cfg.eval.k)}})
    small = dataset.select(range(min(2, len(dataset))))
    run_plain(model, tok, list(small), template, warm.eval, cfg.seed)
    run_rlpost(model, tok, small, template, warm, None)


def summarize(arm: dict[str, Any], questions: int) -> dict[str, Any]:
    """The recorded figures of one arm (per-question records dropped)."""
    return {"questions_per_s": questions / arm["wall_s"], **{k: v for k, v in arm.items() if k != "records"}}


def format_table(data: dict[str, Any]) -> str:
    """Markdown: one row per arm, the questions/s ratio and the correctness check."""
    s, k = data["settings"], data["settings"]["k"]
    plain = data["arms"]["plain"]
    lines = [f"# Evaluation: rlpost-eval vs a plain `generate` loop ({s['model']}, {s['questions']} questions, greedy "
             f"+ k={k} samples at T={s['temperature']}, {s['max_new_tokens']} new tokens, batch {s['batch_size']}, "
             f"autocast {s['autocast_dtype']}, {s['threads']} threads)", "",
             f"| arm | wall s | CPU s | questions/s | greedy acc | pass@1 | maj@{k} | pass@{k} | greedy tokens "
             "| process RSS MiB (start / peak) |", "|---" * 10 + "|"]
    for name in ARMS:
        a = data["arms"][name]
        m = a["metrics"]
        lines.append(f"| {name} | {a['wall_s']:.1f} | {a['cpu_s']:.1f} | {a['questions_per_s']:.3f} | "
                     f"{pct(m['accuracy'])} | {pct(m.get('pass@1'))} | {pct(m.get(f'maj@{k}'))} | "
                     f"{pct(m.get(f'pass@{k}'))} | {m['completion_tokens']:.1f} | {a['rss_start_mib']:.0f} / "
                     f"{a['peak_rss_mib']:.0f} |")
    lines += ["", f"Questions/s rlpost / plain: **{data['ratio_questions_per_s']:.2f}x** (higher is faster; the "
              f"plain loop's generation took {plain['generate_s']:.1f} s of its {plain['wall_s']:.1f} s). "
              f"CPU-time ratio plain / rlpost: {data['ratio_cpu_s']:.2f}x. Load average (1 min) before / after: "
              f"{data['load_avg_1min_before']} / {data['load_avg_1min_after']}.", ""]
    return "\n".join(lines + agreement_lines(data["agreement"], s["questions"], k)) + "\n"


def agreement_lines(agree: dict[str, Any], questions: int, k: int) -> list[str]:
    """The correctness check as Markdown lines."""
    acc = agree["greedy_accuracy"]
    lines = [f"Greedy accuracy plain {pct(acc['plain'])} vs rlpost {pct(acc['rlpost'])} (equal: "
             f"{agree['greedy_accuracy_equal']}); greedy texts differ on {agree['greedy_text_mismatches']} of "
             f"{questions} questions, correctness on {agree['greedy_correctness_mismatches']}."]
    for key in ("pass@1", f"maj@{k}", f"pass@{k}"):
        if key in agree:
            x = agree[key]
            lines.append(f"- {key}: plain {pct(x['plain'])}, rlpost {pct(x['rlpost'])}, difference "
                         f"{100 * x['diff']:+.1f} points (SE {100 * x['se_diff']:.1f}; within 2 SE: "
                         f"{x['within_2se']})")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny_random", help="conf/model/<name>.yaml")
    p.add_argument("--questions", type=int, default=64, help="held-out arithmetic questions (data.eval_source.size)")
    p.add_argument("--k", type=int, default=8, help="samples per question (eval.k), plus one greedy completion")
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="eval.sampling.max_new_tokens (default: conf/eval)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides of conf/evaluate.yaml")
    return parse_comparable(p, argv, "eval_speed")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Load the model once, warm up, run the plain loop then rlpost's evaluation; write result.json / .md."""
    from hydra.utils import instantiate
    from transformers import set_seed

    from rlpost.config.validate import validate
    from rlpost.data.build import build_eval_dataset
    from rlpost.runtime.model import load_policy

    args = parse_args(argv)
    start = time.perf_counter()
    cfg = compose_eval_cfg(args)
    validate(cfg)
    set_seed(cfg.seed)
    model, tok = load_policy(cfg.model)  # as rlpost.evaluate.run does
    dataset = build_eval_dataset(cfg.data, cfg.seed)
    template = instantiate(cfg.data.template)
    rows = [r for r in dataset if r.get("answer") is not None]
    prompt_lens = [len(tok.apply_chat_template(template(r), tokenize=True, add_generation_prompt=True)["input_ids"])
                   for r in rows]
    warm_up(model, tok, dataset, template, cfg)
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="rlpost-eval-speed-") as work:
        runs = {"plain": run_plain(model, tok, rows, template, cfg.eval, cfg.seed),
                "rlpost": run_rlpost(model, tok, dataset, template, cfg, Path(work))}
    arms = {name: summarize(runs[name], len(rows)) for name in ARMS}
    data = {"settings": settings_of(args, cfg, model, sum(prompt_lens) / len(prompt_lens)), "arms": arms,
            "ratio_questions_per_s": arms["rlpost"]["questions_per_s"] / arms["plain"]["questions_per_s"],
            "ratio_cpu_s": arms["plain"]["cpu_s"] / arms["rlpost"]["cpu_s"],
            "agreement": agreement(runs["plain"], runs["rlpost"], cfg.eval.k),
            "load_avg_1min_before": load_before, "load_avg_1min_after": round(os.getloadavg()[0], 2),
            "wall_s": time.perf_counter() - start}
    return write_compared(args, data, format_table, compare)


if __name__ == "__main__":
    main()
