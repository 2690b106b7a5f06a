"""Diversity and quality metrics over many samples of the same prompts (DivPO's evaluation; pure).

DivPO (arXiv 2501.18101, Tasks) reports % unique values per persona attribute and their entropy, and for
keyword stories unique 1-grams, entropy and compression ratio (lower = more diverse); quality is validity rate /
mean reward. ``embedding_spread`` (mean pairwise cosine distance of MiniLM embeddings) is rlpost's addition.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rlpost.text.embedder import load_embedder
from rlpost.text.words import extract_words, normalise_value, parse_json_object


def compute_mean_distance(embeddings: Sequence[Sequence[float]]) -> list[float]:
    """Mean cosine distance of each vector to the others in the pool (0 for a pool of one).

    Example:
        >>> compute_mean_distance([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        [0.5, 0.5, 1.0]
    """
    n = len(embeddings)
    if n < 2:
        return [0.0] * n
    unit = []
    for v in embeddings:
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        unit.append([x / norm for x in v])
    out = []
    for i, u in enumerate(unit):
        dist = sum(1.0 - sum(a * b for a, b in zip(u, w, strict=True)) for j, w in enumerate(unit) if j != i)
        out.append(round(dist / (n - 1), 12))
    return out


def unique_ratio(values: Sequence[str]) -> float:
    """Distinct values / number of values (0 for none).

    Example:
        >>> unique_ratio(["Ann", "Bob", "Ann", "Cy"])
        0.75
    """
    return len(set(values)) / len(values) if values else 0.0


def entropy(values: Sequence[str]) -> float:
    """Shannon entropy (nats) of the empirical value distribution.

    Example:
        >>> round(entropy(["a", "b", "a", "b"]), 4)
        0.6931
    """
    n = len(values)
    return -sum(c / n * math.log(c / n) for c in Counter(values).values()) if n else 0.0


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams across ``texts`` (distinct-1/2).

    Example:
        >>> distinct_n(["a b", "a c"], 1)
        0.75
    """
    grams = [tuple(w[i : i + n]) for w in map(extract_words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def compression_ratio(texts: Sequence[str]) -> float:
    """Raw bytes / zlib-compressed bytes of the concatenated texts (higher = more repetitive).

    Example:
        >>> compression_ratio(["same text"] * 50) > compression_ratio([str(i * 7919) for i in range(50)])
        True
    """
    raw = "\n".join(texts).encode()
    return len(raw) / len(zlib.compress(raw, 9)) if raw else 0.0


def attribute_values(texts: Sequence[str], keys: Sequence[str]) -> dict[str, list[str]]:
    """Normalised value of each key in each text that parses as a JSON object holding it.

    Example:
        >>> attribute_values(['{"city": "Oslo"}', 'nope', '{"city": " oslo."}'], ["city"])
        {'city': ['oslo', 'oslo']}
    """
    out: dict[str, list[str]] = {k: [] for k in keys}
    for text in texts:
        obj = parse_json_object(text)
        for k in keys:
            if obj is not None and k in obj:
                out[k].append(normalise_value(obj[k]))
    return out


def compute_diversity_metrics(texts: Sequence[str], keys: Sequence[str] | None = None) -> dict[str, float]:
    """Diversity of one prompt's samples: per-attribute unique ratio / entropy (when ``keys``), distinct-1/2,
    compression ratio and the unique ratio of whole (normalised) answers.

    ``unique/<key>`` divides the distinct values by the samples that hold the key (the paper's "% unique", which
    is trivially high when few samples are valid); ``distinct_per_sample/<key>`` divides them by all samples, so a
    model cannot look diverse by producing fewer valid records.

    Example:
        >>> m = compute_diversity_metrics(['{"a": "x"}', '{"a": "y"}', 'no'], keys=["a"])
        >>> m["unique/a"], m["unique/mean_attribute"], round(m["distinct_per_sample/mean_attribute"], 3)
        (1.0, 1.0, 0.667)
    """
    metrics = {"distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2),
               "compression_ratio": compression_ratio(texts),
               "unique/answer": unique_ratio([normalise_value(t) for t in texts])}
    if keys:
        values = attribute_values(texts, keys)
        for k, vals in values.items():
            metrics[f"unique/{k}"] = unique_ratio(vals)
            metrics[f"entropy/{k}"] = entropy(vals)
            metrics[f"distinct_per_sample/{k}"] = len(set(vals)) / len(texts) if texts else 0.0
        for name in ("unique", "distinct_per_sample"):
            metrics[f"{name}/mean_attribute"] = sum(metrics[f"{name}/{k}"] for k in keys) / len(keys)
    return metrics


def compute_quality_metrics(rewards: Sequence[float | None], valid_threshold: float = 1.0) -> dict[str, float]:
    """Mean reward (None counts as 0) and validity rate (share with reward >= ``valid_threshold``).

    Example:
        >>> compute_quality_metrics([1.0, 0.0, None, 1.0])
        {'quality/mean_reward': 0.5, 'quality/valid_rate': 0.5}
    """
    vals = [0.0 if r is None else float(r) for r in rewards]
    n = len(vals) or 1
    return {"quality/mean_reward": sum(vals) / n, "quality/valid_rate": sum(v >= valid_threshold for v in vals) / n}


def average_metrics(per_prompt: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean of each metric over prompts (keys missing from a prompt are averaged over the others).

    Example:
        >>> average_metrics([{"x": 1.0}, {"x": 0.0, "y": 2.0}])
        {'x': 0.5, 'y': 2.0}
    """
    sums: dict[str, list[float]] = {}
    for m in per_prompt:
        for k, v in m.items():
            sums.setdefault(k, []).append(float(v))
    return {k: sum(v) / len(v) for k, v in sums.items()}


def embedding_spread(texts: Sequence[str], model_dir: str | None = None) -> float:
    """Mean pairwise cosine distance of the texts' sentence embeddings (MiniLM by default; loads the encoder)."""
    if len(texts) < 2:
        return 0.0
    vectors = load_embedder(model_dir).encode(list(texts), batch_size=64, convert_to_numpy=True).tolist()
    distances = compute_mean_distance(vectors)
    return sum(distances) / len(distances)
