"""Rollout benchmark: rlpost's engine (``HFEngine``, fast decode) vs plain ``model.generate``, same settings.

Every setting runs the plain-transformers baseline and rlpost's engine back to back in this process, on the same
arithmetic prompts (``generate_arithmetic`` + the default ``conf/data/arith.yaml`` chat template), with the same
sampling settings (temperature, top-p, top-k off, ``n`` samples per prompt, ``max_new_tokens``, natural stopping).
A batch of B rows is ``B / n`` prompts x ``n`` samples. Figures: tokens/s over all decode slots and over useful
(non-pad) tokens, peak RSS during the call, and the engine/baseline ratio measured in the same run. A roofline line
compares FLOPs/token (~2 x parameters) x tokens/s with this CPU's measured peak matmul throughput.

    python -m bench speed rollout --tag smoke --model tiny_random --batches 8 --max-new-tokens 8  # seconds
    python -m bench speed rollout --tag TAG --model smollm2_135m --budget-s 420    # SmolLM2, ~7 min on 2 cores
    python -m bench speed rollout --tag TAG --compare old.json                     # ratios vs an earlier run

Writes ``bench/results/rollout/<tag>/result.json`` and ``result.md`` (or ``--out``). ``--compare`` refuses runs
whose recorded settings (model, dtypes, batches, lengths, threads, versions) differ.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.report import ROOT, machine_info, parse_comparable, write_compared

# settings that must be equal for two runs to be compared
COMPARED_KEYS = ("model", "dtypes", "batches", "n", "max_new_tokens", "temperature", "top_p", "prompt_tokens_mean",
                 "threads", "python", "torch", "transformers", "trl")


class PeakRSS:
    """Sample this process's resident memory every ``interval`` s while active (``/proc/self/statm``, Linux)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def current_mib() -> float:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.current_mib())

    def __enter__(self) -> PeakRSS:
        self.peak = self.current_mib()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current_mib())


@contextmanager
def precision(model: Any, dtype: str):
    """fp32 weights, with bf16 autocast for ``bf16`` (what rlpost and TRL do with fp32 master weights on CPU)."""
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        yield


def load_prompts(count: int, seed: int = 0) -> list[list[dict[str, str]]]:
    """``count`` arithmetic prompts rendered with the default arith template (conf/data/arith.yaml)."""
    from omegaconf import OmegaConf

    from rlpost.data.sources.arith import generate_arithmetic
    from rlpost.data.templates import ChatTemplate

    tpl = OmegaConf.load(ROOT / "conf" / "data" / "arith.yaml").template
    template = ChatTemplate(user=tpl.user, system=tpl.get("system"))  # arith.yaml extends data=file (system: null)
    return [template(row) for row in generate_arithmetic(count, seed=seed)]


def plain_generate(model: Any, tok: Any, texts: list[str], n: int, temperature: float, top_p: float,
                   max_new_tokens: int) -> tuple[list[list[int]], list[int]]:
    """Plain transformers: left-padded batch, ``generate(num_return_sequences=n)``, decode; new tokens, lengths."""
    tok.padding_side = "left"
    stops = {tok.eos_token_id, tok.pad_token_id}
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    out = model.generate(**enc, do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                         num_return_sequences=n, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id)
    new = out[:, enc["input_ids"].shape[1]:].tolist()
    lengths = [next((t for t, tid in enumerate(row) if tid in stops), len(row)) for row in new]
    tok.batch_decode([row[:n] for row, n in zip(new, lengths, strict=True)], skip_special_tokens=True)
    return new, lengths


def run_baseline(model: Any, tok: Any, prompts: list, args: argparse.Namespace, dtype: str) -> dict[str, float]:
    """Plain transformers (:func:`plain_generate`) after the chat template."""
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    with PeakRSS() as rss, precision(model, dtype):
        start = time.perf_counter()
        new, lengths = plain_generate(model, tok, texts, args.n, args.temperature, args.top_p, args.max_new_tokens)
        wall = time.perf_counter() - start
    slots = len(new) * len(new[0])
    return _figures(wall, slots, lengths, args.max_new_tokens, rss.peak)


def run_engine(model: Any, tok: Any, prompts: list, args: argparse.Namespace, dtype: str, seed: int) -> dict:
    """rlpost's ``HFEngine`` (fast decode) with the same settings."""
    from rlpost.rollout.hf import HFEngine
    from rlpost.rollout.sampling import SamplingSettings

    engine = HFEngine(model, tok, max_batch_size=len(prompts) * args.n, autocast_dtype="bfloat16" if dtype == "bf16"
                      else None, show_progress=False)
    params = SamplingSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                            n=args.n, seed=seed)
    with PeakRSS() as rss:
        start = time.perf_counter()
        groups = engine.generate(prompts, params)
        wall = time.perf_counter() - start
    lengths = [n for g in groups for n in g.lengths]
    # no padding: computed slots are the useful tokens plus one stop token per row that stopped
    slots = sum(lengths) + sum(n < args.max_new_tokens for n in lengths)
    return _figures(wall, slots, lengths, args.max_new_tokens, rss.peak)


def _figures(wall: float, slots: int, lengths: list[int], max_new: int, peak: float) -> dict[str, float]:
    useful = sum(lengths) + sum(n < max_new for n in lengths)  # generated tokens up to and including the stop token
    return {"wall_s": wall, "slot_tokens": slots, "useful_tokens": useful, "slot_tok_s": slots / wall,
            "useful_tok_s": useful / wall, "mean_length": sum(lengths) / len(lengths), "peak_rss_mib": peak}


def measure_matmul_gflops(size: int = 2048, reps: int = 3) -> dict[str, float]:
    """Peak matmul throughput of this CPU (GFLOP/s) for fp32 and bf16 square matrices."""
    import torch

    result = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        torch.matmul(a, b)  # warm-up
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - start)
        result[name] = 2 * size**3 / best / 1e9
    return result


def settings_of(args: argparse.Namespace, prompt_tokens_mean: float) -> dict[str, Any]:
    """The recorded settings of a run (compared by :func:`check_comparable`)."""
    info = machine_info()
    return {"model": args.model, "dtypes": list(args.dtypes), "batches": list(args.batches), "n": args.n,
            "repeats": args.repeats,
            "max_new_tokens": args.max_new_tokens, "temperature": args.temperature, "top_p": args.top_p,
            "prompt_tokens_mean": round(prompt_tokens_mean, 1), **info}


def check_comparable(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...] = COMPARED_KEYS,
                     bench: str = "bench.speed.rollout") -> None:
    """Raise SystemExit naming every recorded setting among ``keys`` that differs between two runs."""
    diff = [f"{k}: {old.get(k)!r} vs {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    if diff:
        raise SystemExit(f"{bench}: refusing to compare runs with different settings: " + "; ".join(diff))


def compare(old_path: Path, new: dict[str, Any]) -> list[str]:
    """Lines ``setting: useful tok/s new/old`` for two comparable runs (see :func:`check_comparable`)."""
    old = json.loads(old_path.read_text())
    check_comparable(old["settings"], new["settings"])
    before = {(r["dtype"], r["batch"]): r for r in old["results"]}
    lines = []
    for r in new["results"]:
        prev = before.get((r["dtype"], r["batch"]))
        if prev and "engine" in r and "engine" in prev:
            ratio = r["engine"]["useful_tok_s"] / prev["engine"]["useful_tok_s"]
            lines.append(f"{r['dtype']} batch {r['batch']}: engine useful tok/s {ratio:.2f}x the earlier run")
    return lines


def run_setting(model: Any, tok: Any, args: argparse.Namespace, dtype: str, batch: int) -> dict[str, Any]:
    """Baseline then engine on the same ``batch // n`` prompts, ``--repeats`` times alternating; totals and ratios."""
    import torch

    prompts = load_prompts(max(1, batch // args.n), seed=args.seed)
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "engine": []}
    for rep in range(args.repeats):
        torch.manual_seed(args.seed + rep)
        runs["baseline"].append(run_baseline(model, tok, prompts, args, dtype))
        runs["engine"].append(run_engine(model, tok, prompts, args, dtype, seed=args.seed + rep))
    base, eng = _total(runs["baseline"]), _total(runs["engine"])
    return {"dtype": dtype, "batch": batch, "prompts": len(prompts), "repeats": args.repeats,
            "load_avg_1min_after": round(os.getloadavg()[0], 2), "baseline": base,
            "engine": eng, "ratio_useful_tok_s": eng["useful_tok_s"] / base["useful_tok_s"],
            "ratio_wall": base["wall_s"] / eng["wall_s"],
            "ratio_useful_tok_s_per_repeat": [e["useful_tok_s"] / b["useful_tok_s"]
                                              for b, e in zip(runs["baseline"], runs["engine"], strict=True)]}


def _total(runs: list[dict[str, float]]) -> dict[str, float]:
    """Sum tokens and seconds over repeats (tok/s = total tokens / total seconds); peak RSS is the max."""
    wall = sum(r["wall_s"] for r in runs)
    slots, useful = sum(r["slot_tokens"] for r in runs), sum(r["useful_tokens"] for r in runs)
    return {"wall_s": wall, "slot_tokens": slots, "useful_tokens": useful, "slot_tok_s": slots / wall,
            "useful_tok_s": useful / wall, "mean_length": sum(r["mean_length"] for r in runs) / len(runs),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs)}


def roofline(params: int, peak: dict[str, float], results: list[dict[str, Any]]) -> dict[str, Any]:
    """FLOPs/token ~ 2 x parameters; fraction of the measured peak matmul rate reached by each figure."""
    flops = 2 * params
    rows = []
    for r in results:
        if "engine" not in r:
            continue
        gflops_peak = peak[r["dtype"]]
        rows.append({"dtype": r["dtype"], "batch": r["batch"],
                     "baseline_slot_fraction": r["baseline"]["slot_tok_s"] * flops / 1e9 / gflops_peak,
                     "engine_useful_fraction": r["engine"]["useful_tok_s"] * flops / 1e9 / gflops_peak})
    return {"params": params, "flops_per_token": flops, "peak_matmul_gflops": peak, "fractions": rows}


def format_table(report: dict[str, Any]) -> str:
    """Markdown summary: one row per setting, ratios measured in this run."""
    s, roof = report["settings"], report["roofline"]
    lines = [f"# Rollout: rlpost engine vs plain `generate` ({s['model']}, n={s['n']}, {s['max_new_tokens']} new "
             f"tokens, T={s['temperature']}, {s['threads']} threads, prompt ~{s['prompt_tokens_mean']} tokens)", "",
             "| dtype | batch | generate tok/s (slots / useful) | rlpost tok/s (useful) | useful ratio | wall ratio "
             "| mean len (gen / rlpost) | peak RSS MiB (gen / rlpost) | load |", "|---" * 9 + "|"]
    for r in report["results"]:
        if "engine" not in r:
            lines.append(f"| {r['dtype']} | {r['batch']} | {r['skipped']} | | | | | | |")
            continue
        b, e = r["baseline"], r["engine"]
        lines.append(f"| {r['dtype']} | {r['batch']} | {b['slot_tok_s']:.1f} / {b['useful_tok_s']:.1f} | "
                     f"{e['useful_tok_s']:.1f} | **{r['ratio_useful_tok_s']:.2f}x** | {r['ratio_wall']:.2f}x | "
                     f"{b['mean_length']:.1f} / {e['mean_length']:.1f} | {b['peak_rss_mib']:.0f} / "
                     f"{e['peak_rss_mib']:.0f} | {r['load_avg_1min_after']} |")
    peak = roof["peak_matmul_gflops"]
    lines += ["", f"Roofline: {roof['params'] / 1e6:.2f}M parameters -> {roof['flops_per_token'] / 1e6:.1f} "
              "MFLOP/token;"
              f" measured peak matmul {peak['fp32']:.1f} GFLOP/s fp32, {peak['bf16']:.1f} GFLOP/s bf16."]
    lines += [f"- {f['dtype']} batch {f['batch']}: generate (all slots) {100 * f['baseline_slot_fraction']:.1f}% of "
              f"peak, rlpost (useful) {100 * f['engine_useful_fraction']:.1f}%" for f in roof["fractions"]]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny_random", help="conf/model/<name>.yaml")
    p.add_argument("--batches", type=int, nargs="+", default=[64, 32, 8], help="rows = prompts x n")
    p.add_argument("--dtypes", nargs="+", default=["bf16", "fp32"], choices=["fp32", "bf16"])
    p.add_argument("--n", type=int, default=8, help="samples per prompt")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="baseline/engine pairs per setting (alternating)")
    p.add_argument("--budget-s", type=float, default=420, help="settings not started within this budget are skipped")
    return parse_comparable(p, argv, "rollout")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every (dtype, batch) setting within the budget and write result.json / result.md."""
    from omegaconf import OmegaConf

    from rlpost.runtime.model import load_policy

    args = parse_args(argv)
    start = time.perf_counter()
    model, tok = load_policy(OmegaConf.load(ROOT / "conf" / "model" / f"{args.model}.yaml"), for_training=False)
    model.eval()
    prompt_lens = [len(tok.apply_chat_template(p, tokenize=True, add_generation_prompt=True)["input_ids"])
                   for p in load_prompts(8, seed=args.seed)]
    for dtype in args.dtypes:  # warm-up: first calls pay one-off allocation and kernel selection costs
        run_setting(model, tok, argparse.Namespace(**{**vars(args), "max_new_tokens": 4, "repeats": 1}), dtype, args.n)
    results = []
    for dtype in args.dtypes:
        for batch in args.batches:
            if time.perf_counter() - start > args.budget_s:
                results.append({"dtype": dtype, "batch": batch, "skipped": "skipped: time budget"})
                continue
            results.append(run_setting(model, tok, args, dtype, batch))
    data = {"settings": settings_of(args, sum(prompt_lens) / len(prompt_lens)), "results": results,
            "roofline": roofline(sum(p.numel() for p in model.parameters()), measure_matmul_gflops(), results)}
    data["wall_s"] = time.perf_counter() - start
    return write_compared(args, data, format_table, compare)


if __name__ == "__main__":
    main()
