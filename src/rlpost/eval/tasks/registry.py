"""``eval.kind`` -> the task that evaluates it: the one table behind ``rlpost-eval eval=<kind>``, the training
pipelines' before/after evaluators and the summary printer (docs/ARCHITECTURE.md, section 8).

Every ``conf/eval/*.yaml`` states its ``kind``. A task module of ``rlpost.eval.tasks`` offers
``evaluate_task(inputs: EvalInputs) -> metrics`` (``rlpost-eval``), ``format_metrics(name, metrics) -> str`` (one
summary line) and optionally ``check_inputs(eval_cfg, data_cfg, reward_cfg)`` (run before the model loads).

>>> eval_kind({"kind": "yes_no"})
'yes_no'
>>> eval_kind({"kind": "yes_no"}, allowed=("math_qa", "none"), user="GRPO")
Traceback (most recent call last):
...
rlpost.errors.ConfigError: eval.kind='yes_no': GRPO evaluates math_qa or none (choose eval=math_qa or eval=none)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from rlpost.errors import ConfigError


@dataclass(frozen=True)
class Task:
    """Where a kind's code lives: ``evaluate`` names the module whose ``evaluate_task`` runs it (None: nothing to
    evaluate), ``format`` the module whose ``format_metrics`` prints it."""

    evaluate: str | None
    format: str | None


KINDS: dict[str, Task] = {
    "math_qa": Task("math_qa", "math_qa"),
    # greedy responses checked by IFEval's rules; math_qa.evaluate_model runs both generative kinds (one engine)
    "instruction_following": Task("math_qa", "ifeval"),
    "yes_no": Task("yes_no", "yes_no"),
    "diversity": Task("diversity", "diversity"),
    "icl_probe": Task("icl_probe", "icl_probe"),
    "none": Task(None, None),
}


@dataclass
class EvalInputs:
    """What ``rlpost-eval`` hands a task: the loaded model, the sub-configs, the output folder and the seed."""

    model: Any
    tokenizer: Any
    data_cfg: Any
    eval_cfg: Any
    out_dir: str | Path | None
    seed: int = 0
    rollout_cfg: Any = None
    reward_cfg: Any = None


def eval_kind(eval_cfg: Any, allowed: tuple[str, ...] = tuple(KINDS), user: str = "rlpost") -> str:
    """``eval.kind``, checked against the kinds ``user`` evaluates.

    Raises:
        ConfigError: unset, unknown, or not one of ``allowed``.
    """
    kind = eval_cfg.get("kind") if eval_cfg is not None else None
    if kind not in KINDS:
        raise ConfigError(f"eval.kind={kind!r} is not a task kind: choose one of {', '.join(KINDS)} "
                          "(conf/eval/*.yaml state it)")
    if kind not in allowed:
        raise ConfigError(f"eval.kind={kind!r}: {user} evaluates {' or '.join(allowed)} "
                          f"(choose {' or '.join(f'eval={a}' for a in allowed)})")
    return kind


def task_module(kind: str) -> ModuleType:
    """The module that evaluates ``kind`` (:func:`eval_kind` checked it).

    Raises:
        ConfigError: ``kind`` evaluates nothing (``none``).
    """
    name = KINDS[kind].evaluate
    if name is None:
        raise ConfigError(f"eval.kind={kind!r} evaluates nothing: choose one of "
                          f"{', '.join(k for k, t in KINDS.items() if t.evaluate)}")
    return import_module(f"rlpost.eval.tasks.{name}")


def format_module(kind: str) -> ModuleType | None:
    """The module whose ``format_metrics`` prints ``kind``'s metrics (None for an unknown kind or ``none``)."""
    task = KINDS.get(kind)
    return import_module(f"rlpost.eval.tasks.{task.format}") if task and task.format else None
