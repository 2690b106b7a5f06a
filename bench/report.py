"""Shared benchmark plumbing: run a CLI step as a subprocess, record wall time and peak RSS, write JSON + table."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def run_step(module: str, args: list[str], run_dir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module args`` with RLPOST_RUN_DIR=run_dir; returns wall seconds, peak RSS and metrics.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), **(env or {})}
    start = time.perf_counter()
    with (run_dir / "stdout.log").open("w") as log:
        cmd = [sys.executable, "-m", module, *args]
        proc = subprocess.run(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{module} {' '.join(args)} failed (exit {proc.returncode}); see {run_dir}/stdout.log")
    metrics_file = run_dir / "metrics.json"
    return {"wall_s": wall, "peak_rss_mb": peak_child_rss_mb(),
            "metrics": json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}}


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
    """Settings and versions recorded with every benchmark so runs are only compared like for like."""
    import torch
    import transformers
    import trl

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
            "machine": platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M")}


def write_results(name: str, data: dict[str, Any], table: str, out_dir: Path | None = None) -> None:
    """Write ``<out_dir>/<name>.json`` and ``<name>.md`` (default ``bench/results``)."""
    out = Path(out_dir) if out_dir is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2))
    (out / f"{name}.md").write_text(table)
    print(table)


def pct(x: float | None) -> str:
    """Format a fraction as a percentage (or '–')."""
    return "–" if x is None else f"{100 * x:.1f}%"
