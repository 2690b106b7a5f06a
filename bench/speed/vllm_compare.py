"""vLLM vs rlpost's engines on this machine, side by side in one run (docs/vllm.md "Speed on CPU").

Same arithmetic prompts (rollout.py ``load_prompts``), same sampling settings, same dtype (``--dtype``, fp32 by
default) and thread count (``--threads``: torch threads, and vLLM's ``VLLM_CPU_OMP_THREADS_BIND``) for every arm;
each arm runs in its own process, so startup time and peak RSS are its own. The CPU's capability (AVX2, AVX-512,
AVX-512 BF16, AMX) is recorded.

* rollout: useful tokens/s at batch 8/32/64 (rows = prompts x n) for HF ``generate``, rlpost's decode loop and vLLM;
* GRPO: s/step (median after the first, warm-up step) with TRL's generation, rlpost's engine, vLLM colocate
  (bench/speed/grpo_step.py ``run_engine``);
* ``rlpost-eval``: questions/s with the HF engine vs vLLM (greedy + ``k`` samples);
* startup seconds (model load + engine build) and peak RSS of each.

    python -m bench speed vllm_compare --tag smoke --model tiny_vllm --batches 8 --max-new-tokens 8 --grpo-steps 2 \\
        --questions 8
    python -m bench speed vllm_compare --tag TAG --model smollm2_135m   # the real run (~15-25 min on 2 cores), idle

Writes ``bench/results/vllm_compare/<tag>/result.json`` and ``result.md`` (or ``--out``). ``tiny_vllm`` is the tiny
random model with head_dim 32 (vLLM's CPU attention has no kernel for the tiny model's 8), built on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.report import (
    ROOT,
    add_output_args,
    child_env,
    cpu_text,
    machine_info,
    recorded_settings,
    resolve_outputs,
    write_results,
)

ROLLOUT_ARMS = ("hf_generate", "rlpost_decode", "vllm")
GRPO_ARMS = {"trl": ["rollout.engine=trl"], "rlpost": ["rollout.engine=rlpost"], "vllm_colocate": ["rollout=vllm"]}
EVAL_ARMS = ("hf", "vllm")


def cpu_flags() -> dict[str, Any]:
    """The SIMD features that decide CPU matmul speed per dtype (from /proc/cpuinfo), next to the level torch
    dispatches to (``cpu_capability`` of :func:`bench.report.machine_info`)."""
    flags: set[str] = set()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
            "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags}


def model_dir(name: str, work: Path) -> str:
    """A local directory for ``--model`` (tiny_vllm: built here; smollm2_135m: rlpost's converted SmolLM2)."""
    if name == "tiny_vllm":
        from rlpost.runtime.tiny_model import make_tiny_model_dir

        return str(make_tiny_model_dir(work / "tiny_vllm", hidden_size=64))
    from omegaconf import OmegaConf

    from rlpost.runtime.model import resolve_model_path

    return str(resolve_model_path(OmegaConf.load(ROOT / "conf" / "model" / f"{name}.yaml")))


def thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "VLLM_CPU_OMP_THREADS_BIND": f"0-{threads - 1}" if threads > 1 else "0",
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false"}


def rollout_cfg(args: argparse.Namespace, use_vllm: bool) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.create({"use_vllm": use_vllm, "vllm_dtype": args.dtype, "vllm_cpu_kv_cache_gib": 1})


def load(args: argparse.Namespace, path: str) -> tuple[Any, Any]:
    import torch
    from omegaconf import OmegaConf

    from rlpost.runtime.model import load_policy

    torch.set_num_threads(args.threads)
    model, tok = load_policy(OmegaConf.create({"path": path, "dtype": args.dtype}), for_training=False)
    return model.eval(), tok


class PlainGenerate:
    """The ``hf_generate`` arm: transformers' ``model.generate`` (:func:`bench.speed.rollout.plain_generate`)."""

    def __init__(self, model: Any, tok: Any) -> None:
        self.model, self.tok = model, tok

    def generate(self, prompts: list, params: Any) -> list[Any]:
        import torch

        from bench.speed.rollout import plain_generate

        texts = [self.tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        torch.manual_seed(params.seed)
        with torch.inference_mode():
            _, lengths = plain_generate(self.model, self.tok, texts, params.n, params.temperature, params.top_p,
                                        params.max_new_tokens)
        return [SimpleNamespace(lengths=lengths)]


def worker_rollout(args: argparse.Namespace, path: str) -> dict[str, Any]:
    """One rollout arm: startup, then useful tokens/s per batch (after one warm-up call)."""
    from bench.speed.rollout import load_prompts
    from rlpost.rollout.build import build_engine
    from rlpost.rollout.hf import HFEngine
    from rlpost.rollout.sampling import SamplingSettings

    start = time.perf_counter()
    model, tok = load(args, path)
    if args.arm == "vllm":
        engine = build_engine(model, tok, rollout_cfg(args, True), seed=args.seed)
    elif args.arm == "hf_generate":
        engine = PlainGenerate(model, tok)
    else:
        engine = HFEngine(model, tok, max_batch_size=max(args.batches), autocast_dtype=None, show_progress=False)
    startup = time.perf_counter() - start
    out = {"arm": args.arm, "startup_s": startup, "batches": {}}
    for batch in args.batches:
        prompts = load_prompts(max(1, batch // args.n), seed=args.seed)
        params = SamplingSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                                n=args.n, seed=args.seed)
        engine.generate(prompts[: max(1, len(prompts) // 4)], params)  # warm-up
        t = time.perf_counter()
        groups = engine.generate(prompts, params)
        wall = time.perf_counter() - t
        useful = sum(sum(g.lengths) for g in groups)
        out["batches"][str(batch)] = {"useful_tokens": useful, "seconds": wall, "useful_tok_per_s": useful / wall}
    return out


def worker_eval(args: argparse.Namespace, path: str) -> dict[str, Any]:
    """One ``rlpost-eval`` arm: the evaluation of ``evaluate_model`` with the HF engine or vLLM."""
    from hydra.utils import instantiate

    from bench.report import compose_config
    from rlpost.data.build import build_eval_dataset
    from rlpost.eval.tasks.math_qa import evaluate
    from rlpost.rollout.build import build_engine
    from rlpost.rollout.sampling import SamplingSettings

    cfg = compose_config("evaluate", ["model=hf", f"model.path={path}", f"eval.k={args.k}",
                                      f"data.eval_source.size={args.questions}", f"seed={args.seed}",
                                      f"eval.sampling.max_new_tokens={args.max_new_tokens}",
                                      f"eval.sampling.temperature={args.temperature}",
                                      f"eval.sampling.top_p={args.top_p}"])
    start = time.perf_counter()
    model, tok = load(args, path)
    dataset = build_eval_dataset(cfg.data, args.seed)
    engine = build_engine(model, tok, rollout_cfg(args, args.arm == "vllm"), batch_size=max(args.batches),
                          autocast_dtype=None, seed=args.seed)
    startup = time.perf_counter() - start
    t = time.perf_counter()
    sampling = SamplingSettings.from_cfg(cfg.eval.sampling, n=cfg.eval.k, seed=args.seed)
    metrics = evaluate(engine, dataset, instantiate(cfg.data.template), sampling, cfg.eval.answer_format,
                       cfg.eval.group_by)
    wall = time.perf_counter() - t
    return {"arm": args.arm, "startup_s": startup, "seconds": wall, "questions": len(dataset),
            "questions_per_s": len(dataset) / wall, "accuracy": metrics.get("accuracy")}


def run_worker(args: argparse.Namespace, kind: str, arm: str, path: str, work: Path) -> dict[str, Any]:
    out = work / f"{kind}-{arm}.json"
    cmd = [sys.executable, "-m", "bench.speed.vllm_compare", "--worker", kind, "--arm", arm, "--model-dir", path,
           "--result", str(out), "--dtype", args.dtype, "--threads", str(args.threads), "--batches",
           *map(str, args.batches), "--n", str(args.n), "--max-new-tokens", str(args.max_new_tokens), "--temperature",
           str(args.temperature), "--top-p", str(args.top_p), "--questions", str(args.questions), "--k", str(args.k),
           "--seed", str(args.seed)]
    env = child_env(**thread_env(args.threads))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{kind}/{arm} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return json.loads(out.read_text())


def run_grpo(args: argparse.Namespace, path: str, work: Path) -> list[dict[str, Any]]:
    from bench.speed.grpo_step import run_engine

    gargs = argparse.Namespace(model="hf", bf16="false", steps=args.grpo_steps, batch=args.grpo_batch,
                               num_generations=args.n, max_new_tokens=args.max_new_tokens, seed=args.seed,
                               extra=[f"model.path={path}", f"model.dtype={args.dtype}",
                                      f"rollout.vllm_dtype={args.dtype}", f"sampling.temperature={args.temperature}"],
                               timeout=args.timeout)
    saved = dict(os.environ)
    os.environ.update(thread_env(args.threads))
    try:
        results = []
        for arm, variant in GRPO_ARMS.items():
            r = run_engine(gargs, arm, work, variant)
            r["startup_s"] = r["wall_s_including_startup"] - sum(r["step_times_s"])
            results.append(r)
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


def format_table(data: dict[str, Any]) -> str:
    s = data["settings"]
    cap = s.get("cpu_flags", s["cpu_capability"])  # results written before cpu_flags kept them under cpu_capability
    lines = [f"# vLLM vs rlpost's engines ({s['model']}, {s['dtype']}, {s['threads']} thread(s), n={s['n']}, "
             f"{s['max_new_tokens']} new tokens, T={s['temperature']})", "",
             f"CPU: {cap['cpu']} ({cpu_text(s) if 'cpu_flags' in s else 'torch level not recorded'}; "
             f"AVX2 {cap['avx2']}, AVX-512 {cap['avx512f']}, AVX-512 BF16 {cap['avx512_bf16']}, "
             f"AMX {cap['amx_bf16']})",
             "", "## Rollout (useful tokens/s)", "",
             "| arm | " + " | ".join(f"batch {b}" for b in s["batches"]) + " | startup s | peak RSS MiB |",
             "|---|" + "---|" * (len(s["batches"]) + 2)]
    for r in data["rollout"]:
        cells = " | ".join(f"{r['batches'][str(b)]['useful_tok_per_s']:.1f}" for b in s["batches"])
        lines.append(f"| {r['arm']} | {cells} | {r['startup_s']:.1f} | {r['peak_rss_mib']:.0f} |")
    lines += ["", "## GRPO (s/step, median after the first step)", "", "| arm | s/step | startup s | peak RSS MiB |",
              "|---|---|---|---|"]
    for r in data["grpo"]:
        med = r["s_per_step_median_after_first"]
        lines.append(f"| {r['engine']} | {'n/a' if med is None else f'{med:.2f}'} | {r['startup_s']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} |")
    lines += ["", "## rlpost-eval (questions/s)", "", "| arm | questions/s | startup s | peak RSS MiB | accuracy |",
              "|---|---|---|---|---|"]
    for r in data["eval"]:
        lines.append(f"| {r['arm']} | {r['questions_per_s']:.2f} | {r['startup_s']:.1f} | {r['peak_rss_mib']:.0f} | "
                     f"{r['accuracy']} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2_135m", help="tiny_vllm | smollm2_135m | a conf/model name")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, nargs="+", default=[8, 32, 64])
    p.add_argument("--n", type=int, default=8, help="samples per prompt (rollout, GRPO num_generations)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--grpo-steps", type=int, default=4)
    p.add_argument("--grpo-batch", type=int, default=16)
    p.add_argument("--questions", type=int, default=64)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parts", nargs="+", default=["rollout", "grpo", "eval"], choices=["rollout", "grpo", "eval"])
    p.add_argument("--timeout", type=int, default=1800)
    add_output_args(p, work_dir=False)
    p.add_argument("--worker", choices=["rollout", "eval"], default=None, help=argparse.SUPPRESS)
    p.add_argument("--arm", default=None, help=argparse.SUPPRESS)
    p.add_argument("--model-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    return args if args.worker else resolve_outputs(args, "vllm_compare")


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.worker:  # one arm in this process
        result = (worker_rollout if args.worker == "rollout" else worker_eval)(args, args.model_dir)
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(args.result).write_text(json.dumps(result))
        return None
    with tempfile.TemporaryDirectory(prefix="rlpost-vllm-compare-") as tmp:
        work = Path(tmp)
        path = model_dir(args.model, work)
        rollout = [run_worker(args, "rollout", arm, path, work) for arm in ROLLOUT_ARMS] if "rollout" in args.parts \
            else []
        grpo = run_grpo(args, path, work) if "grpo" in args.parts else []
        evals = [run_worker(args, "eval", arm, path, work) for arm in EVAL_ARMS] if "eval" in args.parts else []
    settings = recorded_settings(args, "timeout", "worker", "arm", "model_dir", "result")
    best = {b: max(rollout, key=lambda r, b=b: r["batches"][str(b)]["useful_tok_per_s"])["arm"] for b in args.batches
            if rollout}
    data = {"settings": {**machine_info(), **settings, "cpu_flags": cpu_flags()}, "rollout": rollout,
            "grpo": grpo, "eval": evals, "fastest_rollout_arm_per_batch": best,
            "fastest_grpo_arm": min(grpo, key=lambda r: r["s_per_step_median_after_first"] or float("inf"))["engine"]
            if grpo else None}
    write_results(args.out, data, format_table(data))
    return data


if __name__ == "__main__":
    main()
