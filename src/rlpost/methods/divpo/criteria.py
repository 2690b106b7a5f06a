"""Diversity criteria for DivPO: ``(group) -> list[float]``, one score per completion, higher = more diverse.

Each criterion scores a completion *within its own pool* (the N completions sampled for one prompt), following
DivPO (Lanchantin et al., arXiv 2501.18101, §3): model probability (-log pi(y|x), teacher-forced at temperature 1)
and word / attribute frequency come from the paper; embedding distance with MiniLM is rlpost's
addition. ``random_score`` is not a diversity measure: it breaks reward ties at random, which turns
``rho=0`` selection into plain best-vs-worst DPO (the baseline).

Pick one in ``conf/algo/divpo*.yaml`` with ``diversity: {_target_: ..., _partial_: true, <kwargs>}``.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rlpost.errors import ConfigError
from rlpost.eval.diversity import compute_mean_distance
from rlpost.text.embedder import load_embedder
from rlpost.text.words import extract_words, normalise_value, parse_json_object
from rlpost.types import Group


def compute_rarity(token_sets: Sequence[Sequence[str]]) -> list[float]:
    """Mean inverse pool frequency, -log(df/N), of each item's tokens; an item with no tokens scores 0.

    ``df`` counts the items of the pool that contain the token, so a token unique to one item scores log N and a
    token every item has scores 0 (DivPO's word-frequency criterion).

    Example:
        >>> [round(x, 3) for x in compute_rarity([["a", "b"], ["a"], ["a"]])]
        [0.549, 0.0, 0.0]
    """
    n = len(token_sets)
    df = Counter(tok for toks in token_sets for tok in set(toks))
    scores = []
    for toks in token_sets:
        uniq = set(toks)
        scores.append(sum(-math.log(df[t] / n) for t in uniq) / len(uniq) if uniq else 0.0)
    return scores


def logprob_rarity(group: Group, length_normalised: bool = False) -> list[float]:
    """DivPO's model-probability criterion: D(y) = -log pi(y|x) under the policy that sampled the pool.

    The log-probabilities are the policy's own, teacher-forced at temperature 1 (``Group.token_logprobs``, computed
    by the DivPO generate stage), not the tempered, top-p log-probs of the sampler. By default D is the paper's
    -log pi(y|x), summed over the response's tokens; ``length_normalised=True`` divides by the token count (mean
    surprisal per token), which stops long responses from looking diverse merely for being long.

    Raises:
        ConfigError: the group has no teacher-forced log-probabilities.

    Example:
        >>> from rlpost.types import Sample
        >>> g = Group(Sample("p", "q"), [], ["a b", "c"], token_logprobs=[[-1.0, -2.0], [-0.25]])
        >>> logprob_rarity(g), logprob_rarity(g, length_normalised=True)
        ([3.0, 0.25], [1.5, 0.25])
    """
    if group.token_logprobs is None or len(group.token_logprobs) != len(group.completions):
        raise ConfigError(f"algo.diversity=logprob needs the policy's teacher-forced log-probabilities (prompt "
                          f"{group.sample.prompt_id}); the generate stage adds them when this criterion is selected "
                          "(remove a candidates.jsonl written without them)")
    scores = []
    for lps in group.token_logprobs:
        total = -sum(lps)
        scores.append(total / len(lps) if length_normalised and lps else total)
    return scores


logprob_rarity.needs_policy_logprobs = True  # type: ignore[attr-defined]


def needs_policy_logprobs(criterion: Any) -> bool:
    """True if a diversity criterion (a function or a ``functools.partial`` of one) reads ``token_logprobs``.

    Example:
        >>> import functools
        >>> needs_policy_logprobs(functools.partial(logprob_rarity, length_normalised=True))
        True
        >>> needs_policy_logprobs(word_rarity)
        False
    """
    return bool(getattr(getattr(criterion, "func", criterion), "needs_policy_logprobs", False))


def word_rarity(group: Group) -> list[float]:
    """DivPO's word-frequency criterion: mean -log(document frequency) of a completion's words within its pool.

    Example:
        >>> from rlpost.types import Sample
        >>> [round(x, 3) for x in word_rarity(Group(Sample("p", "q"), [], ["Anna", "anna", "Bob"]))]
        [0.405, 0.405, 1.099]
    """
    return compute_rarity([extract_words(c) for c in group.completions])


def attribute_rarity(group: Group, keys: Sequence[str] | None = None) -> list[float]:
    """Word frequency over JSON attribute values (persona task): a rare first name, city or occupation scores high.

    A completion that is not a JSON object with the keys falls back to its words, so it still gets a score
    (its quality reward, not its diversity, keeps it out of the chosen band).

    Args:
        group: one prompt's pool.
        keys: attribute names (``data.attribute_keys``); None = plain word rarity.

    Example:
        >>> from rlpost.types import Sample
        >>> pool = ['{"name": "Ann", "city": "Oslo"}', '{"name": "Ann", "city": "Rome"}']
        >>> [round(x, 3) for x in attribute_rarity(Group(Sample("p", "q"), [], pool), keys=["name", "city"])]
        [0.347, 0.347]
    """
    if not keys:
        return word_rarity(group)
    token_sets = []
    for text in group.completions:
        obj = parse_json_object(text)
        if obj is not None and all(k in obj for k in keys):
            token_sets.append([f"{k}={normalise_value(obj[k])}" for k in keys])
        else:
            token_sets.append(extract_words(text))
    return compute_rarity(token_sets)


def random_score(group: Group, seed: int = 0) -> list[float]:
    """Seeded uniform scores (same pool -> same scores): random tie-breaking for the plain DPO baseline.

    Example:
        >>> from rlpost.types import Sample
        >>> g = Group(Sample("p", "q"), [], ["a", "b"])
        >>> random_score(g) == random_score(g)
        True
    """
    key = "\x00".join([group.sample.prompt_id, str(seed), *group.completions]).encode()
    rng = random.Random(int(hashlib.sha1(key).hexdigest()[:16], 16))
    return [rng.random() for _ in group.completions]


def embedding_distance(group: Group, model_dir: str | None = None, batch_size: int = 64) -> list[float]:
    """Mean cosine distance of a completion's sentence embedding to the rest of its pool (MiniLM by default).

    Not in the DivPO paper: a semantic criterion that treats "Oslo" and "Bergen" as closer than "Oslo" and "Lima".

    Args:
        group: one prompt's pool.
        model_dir: a sentence-transformers directory; None = the packaged all-MiniLM-L6-v2.
        batch_size: texts per encoder call.
    """
    embeddings = load_embedder(model_dir).encode(list(group.completions), batch_size=batch_size,
                                                 convert_to_numpy=True)
    return compute_mean_distance(embeddings.tolist())
