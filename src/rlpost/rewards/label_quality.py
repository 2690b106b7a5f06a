"""Label-quality metrics of self-consistency pseudo-labels against hidden gold answers (SRT / TTRL monitoring).

These are the signals SRT and TTRL watch to see reward hacking coming: label accuracy falling while the majority
share climbs. TTRL's "lucky hit" point is why reward accuracy is logged too: it stays high even when labels are
wrong, because a wrong answer disagreeing with a wrong label still gets the right reward of 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rlpost.rewards.verify import math_equal

# SRT's pass-rate histogram buckets: [0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]
PASS_RATE_EDGES = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class GroupRecord:
    """One gathered group: its majority answer and share, the label used (None = abstained), its answers,
    the hidden gold answer (None when unknown) and whether the row was gold-labelled."""

    majority: str | None
    share: float
    label: str | None
    answers: tuple[str | None, ...]
    gold: str | None
    gold_row: bool = False


def pass_rate_bucket(rate: float) -> str:
    """SRT histogram bucket name of a group's pass rate.

    Example:
        >>> pass_rate_bucket(0.0), pass_rate_bucket(0.2), pass_rate_bucket(0.25), pass_rate_bucket(1.0)
        ('0.0-0.2', '0.0-0.2', '0.2-0.4', '0.8-1.0')
    """
    lo = 0.0
    for hi in PASS_RATE_EDGES:
        if rate <= hi + 1e-9:
            return f"{lo:.1f}-{hi:.1f}"
        lo = hi
    return f"{PASS_RATE_EDGES[-2]:.1f}-1.0"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compute_label_metrics(records: Sequence[GroupRecord],
                          equal: Callable[[str | None, str | None], bool] = math_equal) -> dict[str, float]:
    """Batch metrics; keys are left out when there is nothing to average (e.g. no hidden gold).

    Keys: ``labeled_fraction``, ``majority_share`` and ``label_accuracy``/``reward_accuracy`` over the
    pseudo-labelled (non-gold) groups; ``maj@G``, ``mean@G`` and ``pass_rate/<bucket>`` over groups with a gold
    answer; ``parsable_fraction`` and ``gold_row_fraction`` over all groups.

    Example:
        >>> recs = [GroupRecord("4", 2 / 3, "4", ("4", "4", "5"), "4"),
        ...         GroupRecord("7", 0.5, None, ("7", "8", None), "8")]
        >>> m = compute_label_metrics(recs)
        >>> m["labeled_fraction"], m["label_accuracy"], m["maj@G"], round(m["mean@G"], 3)
        (0.5, 1.0, 0.5, 0.5)
        >>> m["reward_accuracy"], m["pass_rate/0.6-0.8"]
        (1.0, 0.5)
    """
    pseudo = [r for r in records if not r.gold_row]
    with_gold = [r for r in records if r.gold is not None]
    out: dict[str, float | None] = {
        "labeled_fraction": _mean([float(r.label is not None) for r in pseudo]),
        # over groups with at least one parsable answer (an empty vote has no share)
        "majority_share": _mean([r.share for r in pseudo if any(a is not None for a in r.answers)]),
        "parsable_fraction": _mean([float(a is not None) for r in records for a in r.answers]),
        "gold_row_fraction": _mean([float(r.gold_row) for r in records]),
    }
    labelled = [r for r in pseudo if r.label is not None and r.gold is not None]
    out["label_accuracy"] = _mean([float(equal(r.label, r.gold)) for r in labelled])
    out["reward_accuracy"] = _mean([float(equal(a, r.label) == equal(a, r.gold)) for r in labelled for a in r.answers])
    out["maj@G"] = _mean([float(equal(r.majority, r.gold)) for r in with_gold])
    rates = [sum(equal(a, r.gold) for a in r.answers) / len(r.answers) for r in with_gold]
    out["mean@G"] = _mean(rates)
    if rates:
        for lo, hi in zip((0.0, *PASS_RATE_EDGES[:-1]), PASS_RATE_EDGES, strict=True):
            name = f"{lo:.1f}-{hi:.1f}"
            out[f"pass_rate/{name}"] = sum(pass_rate_bucket(x) == name for x in rates) / len(rates)
    return {k: float(v) for k, v in out.items() if v is not None}
