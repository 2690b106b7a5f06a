"""Where evaluation results go and how they are printed: one printer for rlpost-train and rlpost-eval.

An evaluation task writes ``metrics.json`` and ``samples.jsonl`` in its output directory (:func:`save_evaluation`);
:func:`format_summary` prints a run's ``metrics.json`` (docs/ARCHITECTURE.md, section 5), each task kind
formatting its own section with the ``format_metrics`` of its module (rlpost.eval.tasks.registry).

>>> print(format_summary({"pipeline": "sft", "eval": "yes_no", "after": {"auc": 0.75, "accuracy": 0.5,
...                       "log_loss": 0.69, "n": 8}, "train": {"steps": 3, "runtime_s": 1.25}}))
sft: 3 steps in 1 s
  after: AUC 0.7500, accuracy 0.5000, log-loss 0.6900 (n=8)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.distributed import is_main
from rlpost.eval.tasks.registry import format_module
from rlpost.io import write_json, write_jsonl


def save_evaluation(out_dir: str | Path | None, metrics: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """Write ``metrics.json`` and ``samples.jsonl`` (one record per question) atomically, on the main process."""
    if out_dir is not None and is_main():
        write_json(Path(out_dir) / "metrics.json", metrics)
        write_jsonl(Path(out_dir) / "samples.jsonl", records)


def format_section(kind: str, name: str, metrics: dict[str, Any]) -> str:
    """One evaluation's metrics as the task ``kind`` formats them; ``name: k v, ...`` for an unknown kind."""
    module = format_module(kind)
    if module is None:
        return f"{name}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in sorted(metrics.items()))
    return module.format_metrics(name, metrics)


def format_summary(results: dict[str, Any]) -> str:
    """The lines rlpost-train prints at the end of a run: training facts, then before/after."""
    train = results.get("train", {})
    lines = [f"{results.get('pipeline', 'run')}: {train.get('steps', 0)} steps in {train.get('runtime_s') or 0:.0f} s"]
    lines += ["  " + format_section(results.get("eval", ""), stage, results[stage])
              for stage in ("before", "after") if stage in results]
    return "\n".join(lines)
