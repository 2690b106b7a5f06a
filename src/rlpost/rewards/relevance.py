"""``EmbeddingRelevance``: is the response about the request? A guard against constraint-only replies.

A rule reward for instruction following scores only the constraints, so a reply that meets them while ignoring the
request ("What's that?" for "no commas", a line of asterisks for "two responses separated by ******") earns full
reward; the first 30-minute IFEval run saw exactly that (docs/instruction_following.md, "Reward hacking seen").
VerIF (Peng et al. 2025) answers with an LLM verifier; this is the cheap CPU counterpart: the cosine similarity of
the sentence embeddings (MiniLM, :mod:`rlpost.text.embedder`) of the request and the response, mapped linearly
from ``[floor, full]`` to ``[0, 1]``. It is a reward function of its own (additive, ``reward.weights``) and the
``gate`` of ``reward=instruction_following`` (multiplied onto the constraint score: ``reward=if_relevance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlpost.errors import ConfigError
from rlpost.rewards.base import completion_text
from rlpost.rewards.model_based import questions_for
from rlpost.text.embedder import load_embedder


def relevance_score(cosine: float, floor: float, full: float) -> float:
    """``cosine`` mapped linearly from ``[floor, full]`` to ``[0, 1]`` and clipped.

    Example:
        >>> [relevance_score(c, 0.25, 0.75) for c in (-0.5, 0.25, 0.5, 0.75, 1.0)]
        [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    return min(1.0, max(0.0, (cosine - floor) / (full - floor)))


class EmbeddingRelevance:
    """Relevance of each completion to its request (see the module docstring).

    Args:
        floor: cosine at or below which the score is 0.
        full: cosine at or above which the score is 1.
        model_dir: a local sentence-transformers directory; None = the packaged all-MiniLM-L6-v2.
        batch_size: texts per encoder call.

    The request is the row's ``task`` column when the data has one (the generated constraint prompts keep the
    request without its constraints there), else the ``question`` column, else the prompt's user turns. A blank
    completion scores 0.
    """

    __name__ = "relevance"

    def __init__(self, floor: float = 0.2, full: float = 0.4, model_dir: str | None = None,
                 batch_size: int = 64) -> None:
        if not -1.0 <= floor < full <= 1.0:
            raise ConfigError(f"relevance: need -1 <= floor < full <= 1, got floor={floor}, full={full}")
        self.floor, self.full, self.model_dir, self.batch_size = float(floor), float(full), model_dir, batch_size

    def cosines(self, requests: Sequence[str], texts: Sequence[str]) -> list[float]:
        """Cosine similarity of each request's and text's sentence embeddings (each distinct request encoded once)."""
        distinct = list(dict.fromkeys(requests))
        vectors = load_embedder(self.model_dir).encode(distinct + list(texts), batch_size=self.batch_size,
                                                       convert_to_numpy=True, normalize_embeddings=True,
                                                       show_progress_bar=False)
        row = {request: vectors[k] for k, request in enumerate(distinct)}
        return [float(row[r] @ vectors[len(distinct) + i]) for i, r in enumerate(requests)]

    def __call__(self, prompts: list[Any], completions: list[Any], task: Sequence[Any] | None = None,
                 question: Sequence[str] | None = None, log_metric: Any = None, **_: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        if task is not None and all(t for t in task):
            requests = [str(t) for t in task]
        else:
            requests = questions_for(prompts if prompts is not None else [""] * len(texts), question)
        cos = self.cosines(requests, texts)
        scores = [relevance_score(c, self.floor, self.full) if t.strip() else 0.0 for c, t in zip(cos, texts,
                                                                                                    strict=True)]
        if log_metric is not None and scores:
            log_metric("relevance/cosine", sum(cos) / len(cos))
            log_metric("relevance/score", sum(scores) / len(scores))
        return scores
