"""``reward=instruction_following``: verifiable constraints (IFEval ids, checker code) and a soft-constraint verifier.

A row carries any of three constraint columns:

- ``instruction_id_list`` + ``kwargs``: IFEval's format (Zhou et al. 2023), checked by
  :mod:`rlpost.text.instruction_checks`;
- ``checker_code``: Python ``check_following`` functions (VerInstruct, Peng et al. 2025, "VerIF"), run in
  :class:`rlpost.rewards.instruction_following.sandbox.CheckerSandbox`;
- ``soft_constraints``: constraints only a model can judge (tone, style, topic), asked of ``verifier`` (any rlpost
  reward function: :class:`~rlpost.rewards.model_based.JudgeReward` in process, or
  :class:`~rlpost.rewards.endpoint_judge.EndpointJudgeReward` against an OpenAI-compatible server).

The hard score is the fraction of hard constraints met (``mode=fraction``) or 1 only when all are
(``mode=all``). With soft constraints, ``combine=product`` is VerIF's rule: hard score x the verifier's verdict that
every soft constraint holds (``soft_verdict=binary``: P(Yes) >= ``soft_threshold``; ``probability``: P(Yes)).
An optional ``gate`` (a reward function in [0, 1], e.g. :class:`rlpost.rewards.relevance.EmbeddingRelevance`) is
multiplied onto every scored row, so a reply that meets the constraints but ignores the request earns little.
A constraint that cannot be checked (unknown id, kwargs that do not fit, a checker that raises, hangs or returns a
non-bool) counts as not met and is logged once per distinct cause, naming the prompt and the constraint.
Per-type pass rates go to the training log as ``if_rate/<instruction id>``.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rlpost.errors import ConfigError
from rlpost.rewards.base import completion_text
from rlpost.rewards.instruction_following.sandbox import CheckerCall, CheckerSandbox
from rlpost.rewards.model_based import questions_for
from rlpost.text.instruction_checks import check_response, parse_kwargs

logger = logging.getLogger(__name__)

MODES = ("fraction", "all")
COMBINES = ("product", "mean", "hard_only")
SOFT_VERDICTS = ("binary", "probability")
SOFT_QUESTION = "{question}\n\nConstraints the response must satisfy:\n{constraints}"


class InstructionFollowingReward:
    """Constraint-satisfaction reward (see the module docstring).

    Args:
        mode: ``fraction`` of hard constraints met, or ``all`` (1 only when every one is met).
        loose: score hard IFEval constraints with IFEval's loose variants (default strict).
        sandbox: keyword arguments of :class:`CheckerSandbox` for ``checker_code`` constraints.
        verifier: a reward function scoring ``(question + soft constraints, completion)`` in [0, 1]; None = soft
            constraints are not scored (``combine`` must then be ``hard_only`` if any row has them).
        combine: ``product`` (VerIF), ``mean`` of hard score and verdict, or ``hard_only``.
        soft_verdict / soft_threshold: how the verifier's score becomes a verdict.
        gate: a reward function scoring ``(prompt, completion)`` in [0, 1], multiplied onto every row's score
            (None = no gate). It receives the ``task`` and ``question`` columns.
    """

    __name__ = "instruction_following"

    def __init__(self, mode: str = "fraction", loose: bool = False, sandbox: dict[str, Any] | None = None,
                 verifier: Any = None, combine: str = "product", soft_verdict: str = "binary",
                 soft_threshold: float = 0.5, gate: Any = None) -> None:
        for key, value, allowed in (("mode", mode, MODES), ("combine", combine, COMBINES),
                                    ("soft_verdict", soft_verdict, SOFT_VERDICTS)):
            if value not in allowed:
                raise ConfigError(f"reward.funcs.instruction_following.{key}={value!r}: choose one of {allowed}")
        self.mode, self.loose, self.combine = mode, loose, combine
        self.soft_verdict, self.soft_threshold = soft_verdict, float(soft_threshold)
        self.sandbox_kwargs = dict(sandbox or {})
        self._sandbox: CheckerSandbox | None = None
        self.verifier, self.gate = verifier, gate
        self._seen_errors: set[tuple[str, str]] = set()

    @property
    def sandbox(self) -> CheckerSandbox:
        if self._sandbox is None:
            self._sandbox = CheckerSandbox(**self.sandbox_kwargs)
        return self._sandbox

    def __call__(self, prompts: list[Any], completions: list[Any], instruction_id_list: Sequence[Any] | None = None,
                 kwargs: Sequence[Any] | None = None, checker_code: Sequence[Any] | None = None,
                 soft_constraints: Sequence[Any] | None = None, question: Sequence[str] | None = None,
                 prompt_id: Sequence[str] | None = None, task: Sequence[Any] | None = None,
                 log_metric: Any = None, **_: Any) -> list[float | None]:
        n = len(completions)
        prompts = prompts if prompts is not None else [""] * n
        texts = [completion_text(c) for c in completions]
        questions = questions_for(prompts, question)
        ids = [list(instruction_id_list[i] or []) if instruction_id_list is not None else [] for i in range(n)]
        hard: list[list[bool]] = [[] for _ in range(n)]
        by_type: dict[str, list[float]] = defaultdict(list)
        n_errors = 0
        for i in range(n):
            where = f"prompt {prompt_id[i] if prompt_id is not None else i}"
            try:
                kw = parse_kwargs(kwargs[i] if kwargs is not None else None, len(ids[i]))
            except (ValueError, TypeError) as err:
                self._log_error(where, "kwargs", str(err))
                kw = [{} for _ in ids[i]]
            for j, check in enumerate(check_response(texts[i], ids[i], kw, questions[i])):
                ok = check.loose if self.loose else check.strict
                hard[i].append(ok)
                by_type[check.instruction_id].append(float(ok))
                if check.error:
                    n_errors += 1
                    self._log_error(where, f"constraint {j} ({check.instruction_id})", check.error)
        n_errors += self._check_code(texts, questions, checker_code, prompt_id, hard, by_type)
        soft = self._soft_scores(prompts, completions, questions, soft_constraints)
        rewards = [self._combine(hard[i], soft[i]) for i in range(n)]
        gates = self._gate(prompts, completions, rewards, task, question, log_metric)
        rewards = [r * g if r is not None else None for r, g in zip(rewards, gates, strict=True)]
        if log_metric is not None:
            for instruction_id, values in sorted(by_type.items()):
                log_metric(f"if_rate/{instruction_id}", sum(values) / len(values))
            log_metric("if/constraint_errors", float(n_errors))
            gated = [g for g, r in zip(gates, rewards, strict=True) if r is not None]
            if self.gate is not None and gated:
                log_metric("if/gate", sum(gated) / len(gated))
            verdicts = [s for s in soft if s is not None]
            if verdicts:
                log_metric("if/soft_verdict", sum(verdicts) / len(verdicts))
        return rewards

    def _check_code(self, texts: list[str], questions: list[str], checker_code: Sequence[Any] | None,
                    prompt_id: Sequence[str] | None, hard: list[list[bool]], by_type: dict[str, list[float]]) -> int:
        """Run every row's ``checker_code`` in the sandbox (one batch); appends verdicts to ``hard``."""
        if checker_code is None:
            return 0
        calls, owners = [], []
        for i, codes in enumerate(checker_code):
            for j, code in enumerate(codes or []):
                calls.append(CheckerCall(str(code), texts[i], questions[i]))
                owners.append((i, j))
        errors = 0
        for (i, j), result in zip(owners, self.sandbox.run(calls) if calls else [], strict=True):
            hard[i].append(result.passed)
            by_type["checker_code"].append(float(result.passed))
            if result.error:
                errors += 1
                where = f"prompt {prompt_id[i] if prompt_id is not None else i}"
                self._log_error(where, f"checker_code {j}", result.error)
        return errors

    def _soft_scores(self, prompts: list[Any], completions: list[Any], questions: list[str],
                     soft_constraints: Sequence[Any] | None) -> list[float | None]:
        """The verifier's verdict per completion (None where the row has no soft constraints)."""
        n = len(completions)
        if soft_constraints is None or self.combine == "hard_only":
            return [None] * n
        rows = [i for i in range(n) if soft_constraints[i]]
        if not rows:
            return [None] * n
        if self.verifier is None:
            raise ConfigError("reward.funcs.instruction_following.verifier is null but the data has "
                              "soft_constraints: set a verifier (reward=verif) or combine=hard_only")
        asked = [SOFT_QUESTION.format(question=questions[i],
                                      constraints="\n".join(f"- {c}" for c in soft_constraints[i])) for i in rows]
        scores = self.verifier([prompts[i] for i in rows], [completions[i] for i in rows], question=asked)
        out: list[float | None] = [None] * n
        for i, score in zip(rows, scores, strict=True):
            p = float(score) if score is not None else 0.0
            out[i] = float(p >= self.soft_threshold) if self.soft_verdict == "binary" else p
        return out

    def _gate(self, prompts: list[Any], completions: list[Any], rewards: list[float | None],
              task: Sequence[Any] | None, question: Sequence[str] | None, log_metric: Any) -> list[float]:
        """The gate's score per completion (1.0 without a gate; abstaining rows are not sent to it); the gate logs
        its own metrics through ``log_metric``."""
        out = [1.0] * len(completions)
        rows = [i for i, r in enumerate(rewards) if r is not None]
        if self.gate is None or not rows:
            return out
        task_rows = [task[i] for i in rows] if task is not None else None
        question_rows = [question[i] for i in rows] if question is not None else None
        scores = self.gate([prompts[i] for i in rows], [completions[i] for i in rows], task=task_rows,
                           question=question_rows, log_metric=log_metric)
        for i, score in zip(rows, scores, strict=True):
            out[i] = min(1.0, max(0.0, float(score))) if score is not None else 0.0
        return out

    def _combine(self, hard: list[bool], soft: float | None) -> float | None:
        if not hard and soft is None:
            return None  # nothing to check: abstain (zero advantage) rather than invent a score
        if hard:
            score = float(all(hard)) if self.mode == "all" else sum(hard) / len(hard)
        else:
            score = 1.0
        if soft is None:
            return score
        return score * soft if self.combine == "product" else (score + soft) / 2 if hard else soft

    def _log_error(self, where: str, what: str, error: str) -> None:
        key = (re.sub(r"\d+ ", "", what), error)  # one line per constraint type and cause, not per index
        if key in self._seen_errors:
            return
        self._seen_errors.add(key)
        logger.warning("instruction_following: %s, %s: %s (scored as not met; further identical errors not shown)",
                       where, what, error)
