"""Pure answer verifiers ``(pred, gold) -> bool``; equivalence is mathematical (math-verify), not textual."""

from __future__ import annotations

import threading
from fractions import Fraction
from functools import lru_cache
from typing import Any


def _timeout() -> int | None:
    # math-verify's timeouts use SIGALRM, which only works in the main thread.
    return 5 if threading.current_thread() is threading.main_thread() else None


def _as_fraction(s: str) -> Fraction | None:
    try:
        return Fraction(s.replace(",", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


@lru_cache(maxsize=65536)
def parse_math(s: str) -> Any:
    """Parse an answer string with math-verify (as inline LaTeX first, then as plain text); cached."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    timeout = _timeout()
    # Extracted answers are bare expressions: read them as inline LaTeX first ("2x+1" is 2x+1, not the 2 in it).
    parsed = parse(f"${s}$", extraction_config=configs, parsing_timeout=timeout)
    if not parsed:
        parsed = parse(s, extraction_config=configs, parsing_timeout=timeout)
    return parsed


def exact_match(pred: str | None, gold: str | None) -> bool:
    """String equality after whitespace stripping.

    Example:
        >>> exact_match(" Yes", "Yes")
        True
    """
    return pred is not None and gold is not None and pred.strip() == gold.strip()


def math_equal(pred: str | None, gold: str | None) -> bool:
    """Mathematical equivalence: ``0.5``, ``1/2`` and ``\\frac{1}{2}`` are equal.

    Numbers are compared exactly as fractions (fast path); anything else goes through math-verify.

    Example:
        >>> math_equal("0.5", "\\\\frac{1}{2}")
        True
        >>> math_equal("1,000", "1000.0")
        True
        >>> math_equal("3", "4")
        False
    """
    if pred is None or gold is None:
        return False
    if pred.strip() == gold.strip():
        return True
    a, b = _as_fraction(pred), _as_fraction(gold)
    if a is not None and b is not None:
        return a == b
    from math_verify import verify

    g, p = parse_math(gold), parse_math(pred)
    if not g or not p:
        return False
    return bool(verify(g, p, timeout_seconds=_timeout()))
