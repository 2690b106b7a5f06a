"""Turn the ``guards`` config group into a prepared training set and trainer callbacks (default: nothing).

Order of operations: split off the early-stopping validation set (gold rows), label the rest once with the
base model (offline labels and/or the agreement curriculum), then build the callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import OmegaConf

from rlpost.checkpoint.commit import BestBy
from rlpost.errors import ConfigError
from rlpost.methods.grpo.guards.collapse import CollapseDetector
from rlpost.methods.grpo.guards.early_stopping import EarlyStopping
from rlpost.methods.grpo.guards.pseudo_labels import attach_labels, compute_base_labels, label_accuracy
from rlpost.methods.grpo.guards.report import write_report

logger = logging.getLogger(__name__)


def votes(reward_funcs: list[Any]) -> bool:
    """True when a training reward (built, so its weight is non-zero) scores against a vote among the model's own
    completions: it says so with ``votes = True`` (e.g. :class:`rlpost.rewards.self_consistency.MajorityVoteReward`).
    """
    return any(getattr(func, "votes", False) for func in reward_funcs)


def skip_zero_advantage_setting(algo_cfg: Any, guards_cfg: Any) -> str:
    """``algo.skip_zero_advantage``, with ``auto`` turned off when the collapse detector judges by entropy.

    Without a validation set the detector reads TRL's logged ``entropy``. With zero-advantage rows skipped that is
    measured on the rows trained on only, which are the groups that still disagree: a collapsing policy would look
    less collapsed than it is. An explicit ``true`` is kept (with a warning).
    """
    setting = str(algo_cfg.get("skip_zero_advantage", "auto")).lower()
    g = guards_cfg or {}
    reads_entropy = bool(g.get("collapse") and g["collapse"].get("entropy_drop") is not None
                         and not g.get("early_stopping"))
    if reads_entropy and setting == "auto":
        logger.info("algo.skip_zero_advantage=auto: off, because guards.collapse judges by the entropy of every "
                    "completion (no early_stopping validation set)")
        return "false"
    if reads_entropy and setting == "true":
        logger.warning("algo.skip_zero_advantage=true: guards.collapse's entropy test now sees only the rows "
                       "trained on; set guards.collapse.entropy_drop=null or add guards early_stopping")
    return setting


def rows_to_label(n_rows: int, max_rows: int | None) -> int:
    """How many training rows the base-model pass labels (training keeps only those): all unless ``max_rows``.

    Example:
        >>> rows_to_label(300, None), rows_to_label(300, 256), rows_to_label(100, 256)
        (300, 256, 100)
    """
    if max_rows is None:
        return n_rows
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ConfigError(f"guards.base_labels.max_rows={max_rows!r} must be a positive integer or null "
                          "(null = every training row)")
    return min(n_rows, max_rows)


def label_with_base_model(bl: Any, model: Any, tokenizer: Any, template: Any, train_ds: Any,
                          reward_funcs: list[Any], *, sampling_cfg: Any, rollout_cfg: Any, eval_cfg: Any,
                          answer_format: str, seed: int, run_dir: str | None) -> Any:
    """maj@k pseudo-labels and agreement of the training rows (the first ``max_rows`` when set) with the model,
    sampling ``guards.base_labels.n`` (``bl``) votes per row with the training ``sampling`` group on the engine of
    ``rollout`` (``eval.batch_size``, ``eval.autocast_dtype``); answers parsed with the data's ``answer_format``."""
    from rlpost.rollout.build import build_engine
    from rlpost.rollout.sampling import SamplingSettings
    from rlpost.runtime.modes import inference_mode
    from rlpost.runtime.zero3 import full_parameters

    if bl.freeze and votes(reward_funcs):
        raise ConfigError("guards.base_labels.freeze=true trains on frozen labels: use reward=accuracy, "
                          "not reward=self_consistency (which would ignore them)")
    total = len(train_ds)
    n_rows = rows_to_label(total, bl.get("max_rows"))
    if n_rows < total:
        logger.warning("guards.base_labels.max_rows=%d: labelling and training on the first %d of %d training rows "
                       "(null = all)", bl.max_rows, n_rows, total)
        train_ds = train_ds.select(range(n_rows))
    params = SamplingSettings.from_cfg(sampling_cfg, n=bl.n, seed=seed)
    logger.info("base-model labels: labelling %d of %d training rows with maj@%d", n_rows, total, params.n)
    with inference_mode(model), full_parameters(model):
        engine = build_engine(model, tokenizer, rollout_cfg, batch_size=eval_cfg.batch_size,
                              autocast_dtype=eval_cfg.autocast_dtype, seed=seed)  # vLLM with rollout=vllm*
        labels = compute_base_labels(engine, train_ds, template, params, answer_format, bl.min_agreement)
    gold = train_ds["answer"] if "answer" in train_ds.column_names else [None] * len(train_ds)
    quality = label_accuracy([lab for lab, _ in labels], gold)
    logger.info("base-model labels on %d rows: %s", len(labels), quality)
    write_report(run_dir, "base_labels", {"rows": len(labels), "train_rows": total, **quality,
                                          "mean_agreement": sum(s for _, s in labels) / len(labels)})
    return attach_labels(train_ds, labels, freeze=bl.freeze)


def apply_guards(guards_cfg: Any, eval_cfg: Any, seed: int, run_dir: str | None, model: Any, tokenizer: Any,
                 template: Any, train_ds: Any, reward_funcs: list[Any], *, sampling_cfg: Any, rollout_cfg: Any,
                 answer_format: str) -> tuple[Any, list[Any]]:
    """Prepare ``train_ds`` and the callbacks for the ``guards`` group (the training rewards are ``reward_funcs``);
    a no-op when the group is absent or all off. Early stopping evaluates greedily with ``eval_cfg``; base-model
    labels come from :func:`label_with_base_model`, which reads the keyword arguments."""
    from hydra.utils import instantiate

    from rlpost.methods.grpo.guards.pseudo_labels import split_validation

    g = guards_cfg
    if g is None:
        return train_ds, []
    callbacks: list[Any] = []
    early = instantiate(g.early_stopping) if g.get("early_stopping") else None
    if early is not None:
        train_ds, val_ds = split_validation(train_ds, early.val_size, seed)
        greedy = OmegaConf.merge(eval_cfg, {"k": 1})  # greedy accuracy only: cheap enough to run every N steps
        early.context = {"val_ds": val_ds, "template": template, "eval_cfg": greedy, "run_dir": run_dir, "seed": seed}
        callbacks.append(early)
    if g.get("base_labels"):
        train_ds = label_with_base_model(g.base_labels, model, tokenizer, template, train_ds, reward_funcs,
                                         sampling_cfg=sampling_cfg, rollout_cfg=rollout_cfg, eval_cfg=eval_cfg,
                                         answer_format=answer_format, seed=seed, run_dir=run_dir)
        if g.get("curriculum"):
            keep = instantiate(g.curriculum)(train_ds["agreement"])
            logger.info("curriculum: %d of %d rows kept, easiest (highest base agreement) first", len(keep),
                        len(train_ds))
            train_ds = train_ds.select(keep)
    elif g.get("curriculum"):
        raise ConfigError("guards.curriculum needs guards.base_labels (the agreement comes from base-model votes)")
    if g.get("collapse"):
        detector: CollapseDetector = instantiate(g.collapse)
        detector.validation = early
        detector.run_dir = run_dir
        callbacks.append(detector)
    return train_ds, callbacks


def trains_on_pseudo_reward(guards_cfg: Any, reward_funcs: list[Any]) -> bool:
    """True when the training reward is scored against labels the model made: a reward that votes, or frozen
    base-model labels (``guards.base_labels.freeze``)."""
    bl = (guards_cfg or {}).get("base_labels")
    return votes(reward_funcs) or bool(bl and bl.get("freeze"))


def checkpoint_ranking(trainer_cfg: Any, guards_cfg: Any, callbacks: list[Any], reward_funcs: list[Any],
                       ) -> BestBy | None:
    """Which checkpoint rotation keeps as best (:func:`rlpost.checkpoint.commit.commit_callback`).

    The early-stopping validation metric at the checkpoint's step when there is one; otherwise none at all when
    the reward is a pseudo-reward (SRT: it keeps rising while the policy collapses onto wrong answers); otherwise
    None, i.e. ``trainer.metric_for_best_model``.
    """
    early = next((c for c in callbacks if isinstance(c, EarlyStopping)), None)
    if early is not None:
        return BestBy(f"validation_{early.metric}", True, early.value_at)
    if trains_on_pseudo_reward(guards_cfg, reward_funcs):
        if trainer_cfg.get("metric_for_best_model"):
            logger.info("checkpoint rotation keeps no best-by-%s checkpoint: the reward is a pseudo-reward "
                        "(guards=early_stopping keeps the best by validation)", trainer_cfg.metric_for_best_model)
        return BestBy(None)
    return None
