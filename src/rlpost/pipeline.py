"""The pipeline skeleton every training method runs in (docs/ARCHITECTURE.md, section 5).

Prologue: validate, seed, tracker, the method's ``setup`` (policy, datasets, evaluator), the before-evaluation as a
cached stage in ``run_dir/eval_before``. The method's ``train``. Epilogue: the after-evaluation
(``run_dir/eval_after``), ``metrics.json`` in the one results schema, the summary, the tracker's end::

    {"pipeline": "grpo", "eval": "math_qa", "before": {...}, "after": {...},
     "train": {"steps": 2, "runtime_s": 1.5, "peak_memory_mb": 900.0, "peak_memory_device": "cpu"}, "grpo": {...}}

A resumed run reuses ``eval_before/metrics.json`` instead of recomputing it (evaluation is seeded, so the numbers
are the same); a method whose trained policy is an immutable directory (DivPO) reuses ``eval_after`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlpost.checkpoint.resume import current_recipe, run_fingerprint
from rlpost.checkpoint.stages import run_stage
from rlpost.distributed import broadcast_object, is_main
from rlpost.eval.results import format_summary
from rlpost.io import read_json, write_json
from rlpost.runtime.hardware import peak_memory
from rlpost.tracking import start_run

logger = logging.getLogger(__name__)


@dataclass
class Evaluator:
    """One held-out evaluation bound to a run's data: ``evaluate(policy, out_dir) -> metrics``.

    ``every_rank``: the evaluation shards rows over ranks or gathers ZeRO-3 weights, so every rank calls it;
    otherwise rank 0 evaluates and the others wait.
    """

    kind: str
    evaluate: Callable[[Any, Path], dict[str, float]]
    every_rank: bool = True


@dataclass
class Run:
    """What the prologue built, handed to the method's ``train``; ``state`` holds the method's own objects."""

    cfg: Any
    run_dir: Path
    tracker: Any
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> dict[str, str]:
        """What a checkpoint directory must match to be resumed (:func:`checkpoint_fingerprint`)."""
        return checkpoint_fingerprint(self.cfg)


@dataclass
class Trained:
    """What a method's ``train`` returns: the policy to evaluate after (None: not trained, skip the evaluation),
    the ``train`` section (``steps``, ``runtime_s``) and the method's own section."""

    policy: Any
    train: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """A training method: ``setup(run)`` loads what it needs and returns its evaluator (None: no held-out data),
    ``train(run)`` trains. ``cache_after``: the after-evaluation is a cached stage too."""

    name: str
    setup: Callable[[Run], Evaluator | None]
    train: Callable[[Run], Trained]
    validate: Callable[[Any], None] | None = None
    cache_after: bool = False


def run_pipeline(cfg: Any, method: Method) -> dict[str, Any]:
    """Run ``method`` inside the prologue and epilogue; returns the results written to ``metrics.json``."""
    from transformers import set_seed

    if method.validate is not None:
        method.validate(cfg)
    set_seed(cfg.seed)
    run = Run(cfg, Path(cfg.run_dir), start_run(cfg.logger, cfg.run_dir, cfg.run_name, config=cfg))
    evaluator = method.setup(run)
    results: dict[str, Any] = {"pipeline": method.name, "eval": evaluator.kind if evaluator else "none"}
    if evaluator is not None and cfg.eval.get("before", True):
        results["before"] = evaluation_stage(run, evaluator, None, "before", cached=True)
    trained = method.train(run)
    if evaluator is not None and trained.policy is not None and cfg.eval.get("after", True):
        results["after"] = evaluation_stage(run, evaluator, trained.policy, "after", cached=method.cache_after)
    results["train"] = {**trained.train, **peak_memory()}
    results[method.name] = trained.extra
    if is_main():
        write_json(run.run_dir / "metrics.json", results)
        logger.info(format_summary(results))
    run.tracker.summary({f"{s}/{k}": v for s in ("before", "after") for k, v in results.get(s, {}).items()})
    run.tracker.finish()
    return results


def checkpoint_fingerprint(cfg: Any) -> dict[str, str]:
    """The run's pipeline, recipe (Hydra config name, else ``run_name``) and base model, for
    :func:`rlpost.checkpoint.resume.run_trainer`: another run's checkpoints are refused, never resumed."""
    return run_fingerprint(cfg.get("pipeline"), current_recipe(cfg.get("run_name")), cfg.get("model"))


def evaluation_stage(run: Run, evaluator: Evaluator, policy: Any, stage: str, cached: bool) -> dict[str, float]:
    """Evaluate ``policy`` (None: the run's initial policy) into ``run_dir/eval_<stage>/metrics.json``.

    With ``cached`` an existing ``metrics.json`` is read instead (a resumed run); otherwise it is recomputed.
    """
    out_dir = run.run_dir / f"eval_{stage}"
    output = out_dir / "metrics.json"

    def build() -> None:
        metrics = evaluator.evaluate(policy, out_dir)
        if is_main():
            write_json(output, metrics)

    if cached:
        run_stage(f"eval_{stage}", output, build, main_only=not evaluator.every_rank)
    else:
        build()
    metrics = broadcast_object(read_json(output) if is_main() else None)
    run.tracker.log({f"eval_{stage}/{k}": v for k, v in metrics.items()})
    return metrics

