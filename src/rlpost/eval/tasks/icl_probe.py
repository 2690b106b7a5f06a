"""In-context-learning probes: gold, random and abstract demonstration labels (Pan et al., Findings ACL 2023).

"What In-Context Learning 'Learns' In-Context" (Pan et al., Findings of ACL 2023, arXiv 2305.09731):
- **gold**: demonstrations carry their true label words (task recognition + task learning);
- **random**: each demonstration label is drawn uniformly from the label words (task recognition only);
- **abstract**: a fresh random bijection per prompt maps the labels to numbers, letters or symbols, and the task
  instruction is removed (task learning only). The query is scored on the mapped label tokens.
Demonstrations are re-sampled for every query, covering both classes (the paper's ``Prompt`` per test example), and
separated by three newlines. All settings are scored by :class:`rlpost.rollout.label_scores.YesNoScorer`.

``rlpost-eval eval=icl_probe data=tallrec_movie`` (:func:`evaluate_task`) probes the queries of the test file with
demonstrations from the training file; ``bench/experiments/tallrec.py`` calls :func:`probe` the same way.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError, DataError
from rlpost.eval.binary import binary_metrics

SETTINGS = ("gold", "random", "abstract")
# The paper's pools (bench_datasets.py::change_label_space); symbols without its stray backslashes.
LABEL_SPACES = {"number": list("0123456789"), "letter": list(string.ascii_uppercase), "symbol": list("@#$%*^{}")}
SEPARATOR = "\n\n\n"


def draw_abstract_labels(rng: random.Random, spaces: Sequence[str] = tuple(LABEL_SPACES)) -> tuple[str, str]:
    """A random (positive, negative) pair of distinct symbols from one randomly chosen label space.

    Example:
        >>> pos, neg = draw_abstract_labels(random.Random(0))
        >>> pos != neg and len(pos) == len(neg) == 1
        True
    """
    pool = LABEL_SPACES[rng.choice(list(spaces))]
    pos, neg = rng.sample(pool, 2)
    return pos, neg


def sample_demos(pool: Sequence[dict[str, Any]], k: int, rng: random.Random, exclude: dict[str, Any] | None = None,
                 ) -> list[dict[str, Any]]:
    """``k`` demonstrations covering both classes when k >= 2 (k//2 negatives, the rest positives), shuffled.

    Raises:
        DataError: the pool has too few rows of a class.
    """
    pos = [r for r in pool if r["label"] == 1 and r is not exclude]
    neg = [r for r in pool if r["label"] == 0 and r is not exclude]
    n_neg = k // 2
    if k - n_neg > len(pos) or n_neg > len(neg):
        raise DataError(f"ICL needs {k - n_neg} positive and {n_neg} negative demonstrations; pool has "
                        f"{len(pos)}/{len(neg)}")
    demos = rng.sample(pos, k - n_neg) + rng.sample(neg, n_neg)
    rng.shuffle(demos)
    return demos


def build_icl_prompt(query: dict[str, Any], demos: Sequence[dict[str, Any]], setting: str, rng: random.Random,
                     words: tuple[str, str] = ("Yes", "No")) -> tuple[str, tuple[str, str]]:
    """Render one probe prompt; returns ``(prompt, (positive_label, negative_label))`` to score the query with.

    Example:
        >>> q = {"instruction": "Is it true?", "input": "1 + 1 = 2", "label": 1}
        >>> d = [{"instruction": "Is it true?", "input": "2 + 2 = 5", "label": 0}]
        >>> build_icl_prompt(q, d, "gold", random.Random(0))
        ('Is it true?\\n\\n2 + 2 = 5\\nAnswer: No\\n\\n\\n1 + 1 = 2\\nAnswer:', ('Yes', 'No'))
    """
    if setting not in SETTINGS:
        raise ConfigError(f"ICL setting {setting!r} must be one of {SETTINGS}")
    labels = draw_abstract_labels(rng) if setting == "abstract" else words
    blocks = []
    for demo in demos:
        shown = rng.choice(labels) if setting == "random" else labels[0 if demo["label"] == 1 else 1]
        blocks.append(render_example(demo, setting, shown))
    blocks.append(render_example(query, setting, None))
    header = "" if setting == "abstract" else f"{query['instruction']}\n\n"
    return header + SEPARATOR.join(blocks), labels


def render_example(row: dict[str, Any], setting: str, label: str | None) -> str:
    """``input\\nAnswer: label`` (natural labels) or the minimal ``input\\nlabel`` (abstract); no label for queries."""
    if setting == "abstract":
        return f"{row['input']}\n" + (label or "")
    return f"{row['input']}\nAnswer:" + (f" {label}" if label is not None else "")


def probe(model: Any, tokenizer: Any, scorer: Any, pool: Sequence[dict[str, Any]], queries: Sequence[dict[str, Any]],
          ks: Sequence[int], settings: Sequence[str] = SETTINGS, seed: int = 0, task: str = "task") -> list[dict]:
    """Accuracy / AUC of every (setting, k) on ``queries``, demonstrations drawn from ``pool``.

    k = 0 is only run for gold (it equals random: no demonstrations); abstract needs k >= 2 to define the mapping.

    Returns:
        One dict per (setting, k): ``task``, ``setting``, ``k`` and :func:`binary_metrics` keys.
    """
    results = []
    for setting in settings:
        for k in ks:
            if (k == 0 and setting != "gold") or (setting == "abstract" and k < 2):
                continue
            rng = random.Random(f"{seed}-{setting}-{k}")
            prompts, label_words = [], []
            for query in queries:
                prompt, labels = build_icl_prompt(query, sample_demos(pool, k, rng, exclude=query), setting, rng)
                prompts.append(prompt)
                label_words.append(labels)
            scores = scorer.score(model, tokenizer, prompts, label_words=label_words, desc=f"{task} {setting} k={k}")
            metrics = binary_metrics([q["label"] for q in queries], scores, split=f"{task}/{setting}/k={k}",
                                     logits=True)
            results.append({"task": task, "setting": setting, "k": k, **metrics})
    return results


def sample_queries(rows: Sequence[dict[str, Any]], n: int | None, seed: int) -> list[dict[str, Any]]:
    """``n`` query rows drawn with ``seed`` (all rows, in order, when ``n`` is None).

    >>> sample_queries([{"i": 0}, {"i": 1}, {"i": 2}], None, 0) == [{"i": 0}, {"i": 1}, {"i": 2}]
    True
    >>> len(sample_queries([{"i": 0}, {"i": 1}, {"i": 2}], 5, 0))
    3
    """
    return list(rows) if n is None else random.Random(seed).sample(list(rows), min(n, len(rows)))


def check_inputs(eval_cfg: Any, data_cfg: Any, reward_cfg: Any) -> None:
    """Fail before the model loads: the probe reads TALLRec-format files (``data.splits``) and needs ``eval.ks``
    and known ``eval.settings``."""
    if data_cfg.get("splits") is None:
        raise ConfigError("eval=icl_probe reads labelled yes/no rows from data.splits: use data=tallrec_movie or "
                          "data=tallrec_book")
    unknown = [s for s in eval_cfg.settings if s not in SETTINGS]
    if unknown or not eval_cfg.ks:
        raise ConfigError(f"eval.settings={list(eval_cfg.settings)} must be among {SETTINGS} and eval.ks="
                          f"{list(eval_cfg.ks)} non-empty")


def evaluate_task(inputs: Any) -> dict[str, float]:
    """``rlpost-eval eval=icl_probe``: :func:`probe` with demonstrations from ``data.splits.train_path``,
    ``eval.n_queries`` queries from ``data.splits.test_path`` (drawn with ``eval.seed``) at every ``eval.ks`` and
    ``eval.settings``; metrics ``<setting>/k=<k>/<metric>``, also written as ``metrics.json``, and one row per
    point in ``points.jsonl``."""
    from hydra.utils import instantiate

    from rlpost.data.sources.tallrec import load_tallrec
    from rlpost.distributed import is_main
    from rlpost.io import write_json, write_jsonl

    ev, splits = inputs.eval_cfg, inputs.data_cfg.splits
    check_inputs(ev, inputs.data_cfg, inputs.reward_cfg)
    pool = load_tallrec(splits.train_path, empty_history=splits.empty_history)
    queries = sample_queries(load_tallrec(splits.test_path, empty_history=splits.empty_history), ev.n_queries,
                             ev.seed)
    points = probe(inputs.model, inputs.tokenizer, instantiate(ev.scorer), pool, queries, list(ev.ks),
                   list(ev.settings), seed=ev.seed, task="test")
    metrics = {f"{p['setting']}/k={p['k']}/{m}": float(v) for p in points for m, v in p.items()
               if m not in ("task", "setting", "k")}
    if inputs.out_dir is not None and is_main():
        write_json(Path(inputs.out_dir) / "metrics.json", metrics)
        write_jsonl(Path(inputs.out_dir) / "points.jsonl", points)
    return metrics


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    """One line: the AUC of every (setting, k), per setting.

    >>> format_metrics("eval", {"gold/k=0/auc": 0.5, "gold/k=2/auc": 0.625, "random/k=2/auc": 0.75,
    ...                         "gold/k=0/n": 8.0})
    'eval: AUC gold k=0 0.500, k=2 0.625 | random k=2 0.750'
    """
    by_setting: dict[str, list[str]] = {}
    for key, value in metrics.items():
        setting, k, metric = key.split("/")
        if metric == "auc":
            by_setting.setdefault(setting, []).append(f"{k} {value:.3f}")
    return f"{name}: AUC " + " | ".join(f"{s} {', '.join(v)}" for s, v in by_setting.items())
