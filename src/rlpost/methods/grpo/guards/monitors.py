"""Guards against self-training collapse (SRT, arXiv 2505.21444): a collapse detector and early stopping.

SRT reports that prolonged RL on a self-consistency reward ends in a sudden, complete collapse: the policy becomes
confidently wrong, the majority share climbs to 1 and the training reward keeps rising while test accuracy falls.
Its mitigations are early stopping on a small labelled validation set (performance peaks before the collapse),
offline labels and an easy-first curriculum (:mod:`rlpost.methods.grpo.guards.pseudo_labels`, wired in
:mod:`rlpost.methods.grpo.guards.setup`). The callbacks here plug into any transformers/TRL trainer.

Resume: both callbacks write their state into each ``checkpoint-N`` before its commit marker
(``rlpost_early_stopping.json`` with the best weights in ``rlpost_early_stopping_best.safetensors``, and
``rlpost_collapse.json``) and read it back when the run resumes from that checkpoint, so a resumed run keeps the
best step, validation history and collapse series of the interrupted one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.checkpoint.commit import checkpoint_dir, load_callback_state, save_callback_state
from rlpost.distributed import is_main
from rlpost.io import write_file, write_json
from rlpost.runtime.zero3 import full_parameters

logger = logging.getLogger(__name__)

SHARE_KEY = "self_consistency/majority_share"
COLLAPSE_STATE = "rlpost_collapse.json"  # in each checkpoint-N
EARLY_STATE = "rlpost_early_stopping.json"
BEST_WEIGHTS = "rlpost_early_stopping_best.safetensors"


@dataclass(frozen=True)
class CollapseThresholds:
    """When to call a run collapsed: majority share at least ``share_max`` (mean of the last ``window`` logs)
    together with entropy down by ``entropy_drop`` (relative to its early level), KL up ``kl_jump``-fold (and
    above ``kl_min``), or validation accuracy ``val_drop`` below its best.

    The entropy test is the label-free fallback: it applies only while no validation accuracy is available.
    Entropy also falls when a run converges on right answers (gold-reward GRPO on arithmetic: 0.75 -> 0.08 while
    held-out accuracy rose 43.5% -> 70%), so where validation exists it decides. ``entropy_drop=None`` turns the
    entropy test off."""

    share_max: float = 0.95
    entropy_drop: float | None = 0.5
    kl_jump: float = 5.0
    kl_min: float = 1e-3
    val_drop: float = 0.05
    window: int = 3


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def detect_collapse(series: Mapping[str, Sequence[float]], val: Sequence[float] = (),
                    th: CollapseThresholds = CollapseThresholds()) -> str | None:
    """Why the run looks collapsed, or None. ``series`` holds per-log values of ``self_consistency/majority_share``,
    ``entropy`` and ``kl``; ``val`` the validation accuracies so far.

    Example:
        >>> s = {SHARE_KEY: [0.5, 0.7, 0.97, 0.99, 0.99], "entropy": [1.0, 1.0, 0.9, 0.3, 0.2]}
        >>> detect_collapse(s, th=CollapseThresholds(window=2))
        'majority share 0.99 >= 0.95 while entropy fell from 1.00 to 0.25'
        >>> detect_collapse({SHARE_KEY: [0.99, 0.99], "entropy": [1.0, 0.95]}, th=CollapseThresholds(window=2)) is None
        True
        >>> detect_collapse({SHARE_KEY: [0.99] * 3}, val=[0.6, 0.7, 0.6], th=CollapseThresholds(window=2))
        'majority share 0.99 >= 0.95 while validation accuracy fell from 0.70 to 0.60'

        With validation accuracy that holds up, falling entropy alone is confidence, not collapse:

        >>> detect_collapse(s, val=[0.5, 0.6, 0.6], th=CollapseThresholds(window=2)) is None
        True
    """
    w = th.window
    share = list(series.get(SHARE_KEY, ()))
    if len(share) < w or _mean(share[-w:]) < th.share_max:
        return None
    head = f"majority share {_mean(share[-w:]):.2f} >= {th.share_max}"
    ent = list(series.get("entropy", ()))
    if th.entropy_drop is not None and not val and len(ent) > w:
        early, now = max(ent[:w]), _mean(ent[-w:])
        if now <= early * (1 - th.entropy_drop):
            return f"{head} while entropy fell from {early:.2f} to {now:.2f}"
    kl = list(series.get("kl", ()))
    if len(kl) > w:
        before, now = _mean(kl[:-w]), _mean(kl[-w:])
        if now > th.kl_min and now > th.kl_jump * max(before, 1e-12):
            return f"{head} while KL jumped from {before:.4f} to {now:.4f}"
    if len(val) >= 2 and max(val) - val[-1] >= th.val_drop:
        return f"{head} while validation accuracy fell from {max(val):.2f} to {val[-1]:.2f}"
    return None


def write_report(run_dir: str | Path | None, name: str, payload: dict[str, Any]) -> None:
    """Write ``<run_dir>/guards/<name>.json`` on rank 0."""
    if run_dir is None or not is_main():
        return
    write_json(Path(run_dir) / "guards" / f"{name}.json", payload)


class CollapseDetector(TrainerCallback):
    """Stop training (and say why) when the self-consistency majority share nears 1 while KL jumps, validation
    accuracy falls, or (without validation) entropy falls. Reads the trainer's logs, identical on every rank, so all
    ranks stop together."""

    def __init__(self, share_max: float = 0.95, entropy_drop: float | None = 0.5, kl_jump: float = 5.0,
                 kl_min: float = 1e-3, val_drop: float = 0.05, window: int = 3) -> None:
        self.thresholds = CollapseThresholds(share_max, entropy_drop, kl_jump, kl_min, val_drop, window)
        self.series: dict[str, list[float]] = {}
        self.reason: str | None = None
        self.validation: EarlyStopping | None = None
        self.run_dir: str | Path | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any):
        saved = load_callback_state(args, state, COLLAPSE_STATE)
        if saved is not None:
            self.series, self.reason = saved["series"], saved["reason"]
            logger.info("collapse detector: restored %d logs from %s", len(self.series.get(SHARE_KEY, [])),
                        checkpoint_dir(args, state).name)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any):
        if self.reason is not None:  # resumed from a checkpoint written after the collapse was called
            control.should_training_stop = True
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any):
        """Put the series and the verdict into the checkpoint (before the commit callback's marker)."""
        if is_main():
            save_callback_state(args, state, COLLAPSE_STATE, {"series": self.series, "reason": self.reason})
        return control

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any):
        if not logs or SHARE_KEY not in logs:
            return control
        for key in (SHARE_KEY, "entropy", "kl"):
            if logs.get(key) is not None:
                self.series.setdefault(key, []).append(float(logs[key]))
        val = [m for _, m in self.validation.history] if self.validation else []
        reason = detect_collapse(self.series, val, self.thresholds)
        if reason and self.reason is None:
            self.reason = reason
            logger.warning("collapse detector: stopping at step %d: %s", state.global_step, reason)
            write_report(self.run_dir, "collapse", {"step": state.global_step, "reason": reason,
                                                    "series": self.series, "validation": val})
            control.should_training_stop = True
        return control


class EarlyStopping(TrainerCallback):
    """Evaluate on a small labelled validation set every ``eval_steps`` (and before training), keep the best
    weights, stop after ``patience`` evaluations without improvement and restore the best at the end.

    The validation rows are split off the training set by :func:`rlpost.methods.grpo.guards.setup.apply_guards`.
    Holds a CPU copy of the best weights (whole: under ZeRO-3 they are gathered for the evaluation and the copy).
    """

    def __init__(self, eval_steps: int = 10, patience: int = 3, val_size: int = 64, metric: str = "accuracy",
                 min_delta: float = 0.0, restore_best: bool = True) -> None:
        self.eval_steps, self.patience, self.val_size = eval_steps, patience, val_size
        self.metric, self.min_delta, self.restore_best = metric, min_delta, restore_best
        self.history: list[tuple[int, float]] = []
        self.best: tuple[int, float] | None = None
        self.best_state: dict[str, Any] | None = None
        self.bad_evals = 0
        self.stopped_early = False
        self.context: dict[str, Any] = {}  # val_ds, template, eval_cfg, run_dir, seed (set by apply_guards)
        self._best_file: tuple[int, Path] | None = None  # (step, file) of the best weights last saved

    def value_at(self, step: int) -> float | None:
        """The validation value measured at exactly ``step`` (None if there was no evaluation then).

        Example:
            >>> es = EarlyStopping(); es.history = [(0, 0.25), (10, 0.5)]
            >>> es.value_at(10), es.value_at(5)
            (0.5, None)
        """
        return next((value for s, value in reversed(self.history) if s == step), None)

    def _evaluate(self, step: int, model: Any, tokenizer: Any) -> None:
        from rlpost.eval.tasks.math_qa import evaluate_model

        c = self.context
        with full_parameters(model):
            metrics = evaluate_model(model, tokenizer, c["val_ds"], c["template"], c["eval_cfg"], None, c["seed"])
            value = metrics[self.metric]
            self.history.append((step, value))
            logger.info("early stopping: step %d validation %s %.4f", step, self.metric, value)
            if self.best is None or value > self.best[1] + self.min_delta:
                self.best, self.bad_evals = (step, value), 0
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                self.bad_evals += 1

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                       **kwargs: Any):
        self.restore(args, state)
        if not self.history:
            self._evaluate(state.global_step, model, processing_class)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                    **kwargs: Any):
        if self.stopped_early:  # resumed from a checkpoint written after patience ran out
            control.should_training_stop = True
        elif state.global_step % self.eval_steps == 0:
            self._evaluate(state.global_step, model, processing_class)
            if self.bad_evals >= self.patience:
                self.stopped_early = True
                logger.warning("early stopping at step %d: no %s gain for %d evaluations (best %.4f at step %d)",
                               state.global_step, self.metric, self.bad_evals, self.best[1], self.best[0])
                control.should_training_stop = True
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any):
        """Put the history, best step and best weights into the checkpoint (before the commit callback's marker)."""
        if not is_main():
            return control
        best_file = None
        if self.restore_best and self.best_state is not None and self.best is not None:
            best_file = self._save_best_weights(checkpoint_dir(args, state) / BEST_WEIGHTS)
        save_callback_state(args, state, EARLY_STATE, {
            "history": self.history, "best": self.best, "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early, "best_weights": best_file and best_file.name})
        return control

    def _save_best_weights(self, path: Path) -> Path:
        """Write the best weights to ``path`` atomically; a hard link to the last file when the best is unchanged."""
        from safetensors.torch import save_file

        last = self._best_file
        if last is not None and last[0] == self.best[0] and last[1].is_file():
            try:
                os.link(last[1], path)
                self._best_file = (self.best[0], path)
                return path
            except OSError:
                pass
        write_file(path, lambda tmp: save_file({k: v.contiguous() for k, v in self.best_state.items()}, str(tmp)))
        self._best_file = (self.best[0], path)
        return path

    def restore(self, args: Any, state: Any) -> None:
        """Load the state saved in the checkpoint this run resumed from (nothing on a fresh run)."""
        saved = load_callback_state(args, state, EARLY_STATE)
        if saved is None:
            return
        self.history = [(int(s), float(v)) for s, v in saved["history"]]
        self.best = None if saved["best"] is None else (int(saved["best"][0]), float(saved["best"][1]))
        self.bad_evals, self.stopped_early = int(saved["bad_evals"]), bool(saved["stopped_early"])
        if saved.get("best_weights"):
            from safetensors.torch import load_file

            path = checkpoint_dir(args, state) / saved["best_weights"]
            self.best_state, self._best_file = load_file(str(path)), (self.best[0], path)
        logger.info("early stopping: restored %d evaluations from %s (best %s)", len(self.history),
                    checkpoint_dir(args, state).name, self.best)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any):
        if self.restore_best and self.best_state is not None and self.best is not None:
            with full_parameters(model, modify=True):
                model.load_state_dict(self.best_state)
            logger.info("early stopping: restored the best weights (step %d, %s %.4f)", self.best[0], self.metric,
                        self.best[1])
        write_report(self.context.get("run_dir"), "early_stopping", self.summary())
        return control

    def summary(self) -> dict[str, Any]:
        """Validation history, the kept step and whether training stopped early."""
        return {"metric": self.metric, "history": self.history, "best_step": self.best and self.best[0],
                "best_value": self.best and self.best[1], "stopped_early": self.stopped_early,
                "restored_best": bool(self.restore_best and self.best_state is not None)}
