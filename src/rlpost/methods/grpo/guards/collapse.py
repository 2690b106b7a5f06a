"""Collapse detector for self-training (SRT, arXiv 2505.21444).

SRT reports that prolonged RL on a self-consistency reward ends in a sudden, complete collapse: the policy becomes
confidently wrong, the majority share climbs to 1 and the training reward keeps rising while test accuracy falls.
Its mitigations are early stopping on a small labelled validation set (performance peaks before the collapse,
:mod:`rlpost.methods.grpo.guards.early_stopping`), offline labels and an easy-first curriculum
(:mod:`rlpost.methods.grpo.guards.pseudo_labels`, wired in :mod:`rlpost.methods.grpo.guards.setup`).

Resume: the detector writes its series and verdict into each ``checkpoint-N`` before its commit marker
(``rlpost_collapse.json``) and reads them back when the run resumes from that checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.checkpoint.commit import checkpoint_dir, load_callback_state, save_callback_state
from rlpost.distributed import is_main
from rlpost.methods.grpo.guards.report import write_report

logger = logging.getLogger(__name__)

SHARE_KEY = "self_consistency/majority_share"
COLLAPSE_STATE = "rlpost_collapse.json"  # in each checkpoint-N


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


class CollapseDetector(TrainerCallback):
    """Stop training (and say why) when the self-consistency majority share nears 1 while KL jumps, validation
    accuracy falls, or (without validation) entropy falls. Reads the trainer's logs, identical on every rank, so all
    ranks stop together."""

    def __init__(self, share_max: float = 0.95, entropy_drop: float | None = 0.5, kl_jump: float = 5.0,
                 kl_min: float = 1e-3, val_drop: float = 0.05, window: int = 3) -> None:
        self.thresholds = CollapseThresholds(share_max, entropy_drop, kl_jump, kl_min, val_drop, window)
        self.series: dict[str, list[float]] = {}
        self.reason: str | None = None
        self.validation: Any = None  # the EarlyStopping callback, when guards use one
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
