"""Shared benchmark plumbing: output folders, run a CLI step as a subprocess, record wall time, peak RSS, machine and
versions, write ``result.json`` + a short ``result.md`` table under ``bench/results/<benchmark>/<tag>/``.

Speed ratios are ratios of **median step times after the warm-up step** (:func:`step_time_ratio`): the first step
pays one-off costs (allocation, kernel selection, lazy imports) and a mean including it overstates a gain.
``python -m bench ratios`` restates every step-time ratio of the committed results that way
(``bench/results/step_ratios.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlpost.io import write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RUNS = ROOT / "bench" / "runs"  # work files (git-ignored)
PATH_ARGS = ("out", "work_dir")  # output locations: never recorded as settings


def add_output_args(parser: argparse.ArgumentParser, work_dir: bool = True) -> None:
    """``--tag`` (names the run), ``--out`` (results folder) and ``--work-dir`` (work files) for every benchmark;
    ``work_dir=False`` for benchmarks that keep their work files in a temporary folder."""
    parser.add_argument("--tag", default=None, help="names this run: results go to bench/results/<benchmark>/<tag>/")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default bench/results/<benchmark>/<tag>)")
    if work_dir:
        parser.add_argument("--work-dir", type=Path, default=None,
                            help="work files (default bench/runs/<benchmark>/<tag>)")


def resolve_outputs(args: argparse.Namespace, benchmark: str) -> argparse.Namespace:
    """Fill ``args.out`` / ``args.work_dir`` from ``--tag``; a one-line error when neither ``--tag`` nor ``--out``.

    >>> a = resolve_outputs(argparse.Namespace(tag="t1", out=None, work_dir=None), "rollout")
    >>> a.out.relative_to(ROOT).as_posix(), a.work_dir.relative_to(ROOT).as_posix()
    ('bench/results/rollout/t1', 'bench/runs/rollout/t1')
    """
    if args.out is None and not args.tag:
        raise SystemExit(f"{benchmark}: give --tag TAG (results go to bench/results/{benchmark}/TAG/) or --out DIR")
    tag = args.tag or Path(args.out).name
    args.out = Path(args.out) if args.out is not None else RESULTS / benchmark / tag
    if "work_dir" in args:
        args.work_dir = Path(args.work_dir) if args.work_dir is not None else RUNS / benchmark / tag
    return args


def parse_comparable(parser: argparse.ArgumentParser, argv: list[str] | None, benchmark: str) -> argparse.Namespace:
    """Parse a speed benchmark's arguments plus ``--compare OLD.json`` and the output arguments (no work folder)."""
    parser.add_argument("--compare", type=Path, default=None,
                        help="an earlier result.json to compare with (refused when its settings differ)")
    add_output_args(parser, work_dir=False)
    return resolve_outputs(parser.parse_args(argv), benchmark)


def write_compared(args: argparse.Namespace, data: dict[str, Any], table: Callable[[dict[str, Any]], str],
                   compare: Callable[[Path, dict[str, Any]], Any]) -> dict[str, Any]:
    """With ``--compare OLD.json``, add ``comparison`` (``compare`` refuses other settings); write; return ``data``."""
    if args.compare is not None:
        data["comparison"] = compare(args.compare, data)
    write_results(args.out, data, table(data))
    return data


def recorded_settings(args: argparse.Namespace, *skip: str) -> dict[str, Any]:
    """The parsed arguments worth recording next to the figures (output locations and ``skip`` left out)."""
    return {k: v for k, v in vars(args).items() if k not in (*PATH_ARGS, *skip)}


def child_env(**extra: str) -> dict[str, str]:
    """A benchmark child process's environment: this checkout's ``src/`` and root first on PYTHONPATH (the child runs
    the same rlpost and bench as the parent, whichever checkout is installed), then ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def run_step(module: str, args: list[str], run_dir: Path, env: dict[str, str] | None = None,
             reuse: bool = False) -> dict[str, Any]:
    """Run ``python -m module args`` with RLPOST_RUN_DIR=run_dir; returns wall seconds, peak RSS and metrics.json.

    A finished step records itself in ``run_dir/step.json``; with ``reuse`` a step that already finished there with
    exactly this module and these arguments is not run again (its recorded figures are returned, ``reused: True``),
    so an interrupted benchmark resumes, and a ``--validation-only`` run can later be scored on the test set without
    training again.
    """
    record = run_dir / "step.json"
    if reuse and record.is_file():
        done = json.loads(record.read_text())
        if done.get("module") == module and done.get("args") == args:
            print(f"[bench] reusing the finished {module} step in {run_dir} (delete it to run again)", flush=True)
            return {**done, "metrics": read_metrics(run_dir), "reused": True}
    run_dir.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)  # a run killed from here on leaves no record of the earlier one in its folder
    full_env = child_env(RLPOST_RUN_DIR=str(run_dir), **(env or {}))
    start = time.perf_counter()
    with (run_dir / "stdout.log").open("w") as log:
        cmd = [sys.executable, "-m", module, *args]
        proc = subprocess.run(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{module} {' '.join(args)} failed (exit {proc.returncode}); see {run_dir}/stdout.log")
    done = {"module": module, "args": args, "wall_s": wall, "peak_rss_mb": peak_child_rss_mb()}
    write_json(record, done)
    return {**done, "metrics": read_metrics(run_dir)}


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """``run_dir/metrics.json``, or {} when the step wrote none."""
    metrics_file = run_dir / "metrics.json"
    return json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}


def peak_child_rss_mb() -> float:
    """Peak resident memory of the largest finished child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def compose_config(name: str, overrides: list[str]) -> Any:
    """Compose a recipe (recipes/) or primary config (conf/) like the CLI does, with the hydra node dropped."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from rlpost.config import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    if (ROOT / "recipes" / f"{name}.yaml").is_file():  # recipes name conf/ groups through the search path
        config_dir, overrides = ROOT / "recipes", [f"hydra.searchpath=[file://{ROOT / 'conf'}]", *overrides]
    else:
        config_dir = ROOT / "conf"
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides)
    GlobalHydra.instance().clear()
    OmegaConf.set_struct(cfg, False)
    return cfg


def machine_info() -> dict[str, Any]:
    """Settings and versions recorded with every benchmark so runs are only compared like for like, with the
    hardware facts behind ``auto`` dtypes (CPU SIMD level, native bf16:
    :func:`rlpost.runtime.hardware.hardware_facts`)."""
    import torch
    import transformers
    import trl

    from rlpost.runtime.hardware import hardware_facts

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
            "machine": platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M"), **hardware_facts()}


def cpu_text(info: dict[str, Any]) -> str:
    """``CPU AVX512, native bf16`` for a table header (``CPU capability not recorded`` for older results).

    >>> cpu_text({"cpu_capability": "AVX2", "cpu_native_bf16": False})
    'CPU AVX2, no native bf16'
    >>> cpu_text({})
    'CPU capability not recorded'
    """
    if "cpu_capability" not in info:
        return "CPU capability not recorded"
    return f"CPU {info['cpu_capability']}, {'native' if info.get('cpu_native_bf16') else 'no native'} bf16"


def precision_line(run_dir: Path) -> str | None:
    """The ``precision (...)`` line an rlpost run logged at startup (the dtypes it chose and why), if any."""
    for name in ("rank0.log", "stdout.log"):
        log = Path(run_dir) / name
        if log.is_file():
            for line in log.read_text(errors="replace").splitlines():
                if "precision (" in line:
                    return line[line.index("precision ("):].strip()
    return None


def median_after_warmup(step_times: Sequence[float], warmup: int = 1) -> float | None:
    """Median step time without the first ``warmup`` steps (None when no step is left).

    >>> round(median_after_warmup([22.1, 19.1, 14.8]), 4)
    16.95
    >>> median_after_warmup([5.0]) is None
    True
    """
    rest = list(step_times)[warmup:]
    return statistics.median(rest) if rest else None


def step_time_ratio(new: Sequence[float], base: Sequence[float], warmup: int = 1) -> float | None:
    """``new / base`` of the median step times after warm-up (below 1 = ``new`` is faster).

    >>> round(step_time_ratio([15.1, 16.44, 15.3], [22.14, 19.12, 14.78]), 3)
    0.936
    """
    a, b = median_after_warmup(new, warmup), median_after_warmup(base, warmup)
    return None if a is None or b is None else a / b


def write_results(out_dir: Path, data: dict[str, Any], table: str) -> None:
    """Write ``<out_dir>/result.json`` (every figure, settings, machine) and ``result.md`` (the short table)."""
    from rlpost.io import write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "result.json", json.dumps(data, indent=2))
    write_text(out / "result.md", table)
    print(table)


def pct(x: float | None) -> str:
    """Format a fraction as a percentage (or '–')."""
    return "–" if x is None else f"{100 * x:.1f}%"


def restate_step_ratios(results: Path = RESULTS) -> str:
    """Every step-time ratio of the committed results, as the median after step 1 next to the mean it replaced.

    GRPO step results (``grpo_step/<tag>/``): variant / baseline. Scale-out (``scale/<tag>/``): each setting /
    1 process. SFT step (``sft_step/<tag>/``) already times steps after an untimed warm-up step and reports their
    median.
    """
    lines = ["# Step-time ratios: median after the warm-up step", "",
             "Restated from the committed results by `python -m bench ratios` (the first step pays one-off costs; a "
             "mean including it overstates a gain). Below 1 = faster. Results from before the CPU was recorded were "
             "measured on a 2-core AVX-512 CPU with native bf16.", "",
             "| result | compared | steps per arm | ratio, mean incl. step 1 (as first reported) "
             "| **ratio, median after step 1** | CPU |", "|---|---|---|---|---|---|"]
    for path in sorted(results.glob("grpo_step/*/result.json")):
        data = json.loads(path.read_text())
        base, new = data["results"]
        mean = new["s_per_step_mean"] / base["s_per_step_mean"]
        median = step_time_ratio(new["step_times_s"], base["step_times_s"])
        lines.append(f"| `{_rel(path, results)}` | {new['engine']} / {base['engine']} | {len(base['step_times_s'])} "
                     f"| {mean:.2f}x | **{median:.2f}x** | {cpu_text(data['settings'])} |")
    for scale in sorted(results.glob("scale/*/result.json")):
        data = json.loads(scale.read_text())
        rows = {r["setting"]: r for r in data["results"]}
        one = rows["1 process"]
        for name, r in rows.items():
            if name == "1 process" or not r.get("s_per_step_median_after_first"):
                continue
            mean = r["s_per_step_mean"] / one["s_per_step_mean"]
            median = r["s_per_step_median_after_first"] / one["s_per_step_median_after_first"]
            lines.append(f"| `{_rel(scale, results)}` | {name} / 1 process | {r['steps']} | {mean:.2f}x "
                         f"| **{median:.2f}x** "
                         f"| {cpu_text(data['environment'])} |")
    for sft in sorted(results.glob("sft_step/*/result.json")):
        data = json.loads(sft.read_text())
        lines.append(f"| `{_rel(sft, results)}` | rlpost / trl | {len(data['arms']['trl']['step_s'])} (after "
                     f"{data['settings'].get('warmup', 1)} untimed) | n/a (never a mean) | **{data['ratio']:.2f}x** "
                     f"| {cpu_text(data['machine'])} |")
    return "\n".join(lines) + "\n"


def _rel(path: Path, results: Path) -> str:
    """``grpo_step/engines`` for ``<results>/grpo_step/engines/result.json``."""
    return path.parent.relative_to(results).as_posix()


def write_step_ratios(results: Path = RESULTS) -> str:
    """Write ``<results>/step_ratios.md`` from the committed results (``python -m bench ratios``)."""
    from rlpost.io import write_text

    text = restate_step_ratios(results)
    write_text(results / "step_ratios.md", text)
    return text
