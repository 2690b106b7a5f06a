"""TALLRec recommendation data: reader, label parsing, few-shot sampler and prompt formats.

Format (Bao et al., RecSys 2023, arXiv 2305.00447): a JSON list of objects with ``instruction``,
``input`` and ``output`` (``"Yes."`` / ``"No."``). Rows are returned as plain dicts with an extra integer
``label`` (1 = Yes, 0 = No).

Empty history lists (``User Preference: `` with nothing after it; 298 rows of book/test) are valid TALLRec rows
and are kept by default (``empty_history="keep"``): the model simply sees an empty list, as in the paper's
evaluation. ``"drop"`` removes them (logged) and ``"error"`` refuses the file.

Build the same format from raw MovieLens-100K / BookCrossing files with
``python -m rlpost.data.prepare.tallrec prepare {movielens,bookcrossing} ...``
(:mod:`rlpost.data.prepare.tallrec`).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.errors import DataError
from rlpost.io import read_json_or_lines

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("instruction", "input", "output")
EMPTY_HISTORY = re.compile(r"User (Preference|Unpreference): *(\n|$)")
ALPACA_HEADER = ("Below is an instruction that describes a task, paired with an input that provides further context. "
                 "Write a response that appropriately completes the request.")


def parse_label(output: str) -> int | None:
    """Map a TALLRec ``output`` string to 1 (Yes) / 0 (No); ``None`` if it is neither.

    Case, surrounding whitespace and one trailing period are ignored.

    Example:
        >>> parse_label("Yes."), parse_label(" no"), parse_label("Maybe.")
        (1, 0, None)
    """
    word = output.strip().removesuffix(".").strip().lower()
    return {"yes": 1, "no": 0}.get(word)


def has_empty_history(text: str) -> bool:
    """True if the preference or unpreference list of a TALLRec ``input`` is empty.

    Example:
        >>> has_empty_history('User Preference: \\nUser Unpreference: "A"\\nWhether ...')
        True
        >>> has_empty_history('User Preference: "B"\\nUser Unpreference: "A"\\nWhether ...')
        False
    """
    return EMPTY_HISTORY.search(text) is not None


def history_like_ratio(text: str) -> float:
    """Share of the history that the user liked: a model-free baseline score for TALLRec rows.

    Users who liked most of their last 10 items tend to like the next one: on movie this one number reaches a test
    AUC of about 0.7 (docs/tallrec.md), so it is the bar a fine-tuned model's AUC should be read against.
    An empty history gives 0.5.

    Example:
        >>> history_like_ratio('User Preference: "A (1990)", "B (1991)", "C (1992)"\\nUser Unpreference: "D (1993)"\\n'
        ...                    'Whether the user will like the target movie "E (1994)"?')
        0.75
    """
    def count(part: str) -> int:
        return len(re.findall(r'"[^"\n]*"', part.strip()))

    match = re.search(r"User Preference:(.*?)\nUser Unpreference:(.*?)(\n|$)", text, re.S)
    if match is None:
        return 0.5
    liked, disliked = count(match.group(1)), count(match.group(2))
    return liked / (liked + disliked) if liked + disliked else 0.5


def load_tallrec(path: str | Path, limit: int | None = None, empty_history: str = "keep") -> list[dict[str, Any]]:
    """Load and validate a TALLRec file.

    Args:
        path: JSON list (or JSONL) of ``{instruction, input, output}`` objects.
        limit: keep only the first ``limit`` valid rows (None = all).
        empty_history: ``keep`` (default, documented above) | ``drop`` | ``error`` for empty history lists.

    Returns:
        Rows with ``instruction``, ``input``, ``output`` and ``label`` (1 = Yes, 0 = No).

    Raises:
        DataError: missing file, missing keys, or an ``output`` that is neither Yes nor No (names file and row).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: TALLRec data file not found (set RLPOST_DATA or data.*_path)")
    if empty_history not in ("keep", "drop", "error"):
        raise DataError(f"empty_history={empty_history!r} must be keep, drop or error")
    rows, dropped = [], 0
    for i, raw in enumerate(read_json_or_lines(path)):
        if not isinstance(raw, dict) or any(k not in raw for k in REQUIRED_KEYS):
            raise DataError(f"{path}: row {i} must be an object with keys {list(REQUIRED_KEYS)}, got {raw!r:.120}")
        label = parse_label(str(raw["output"]))
        if label is None:
            raise DataError(f"{path}: row {i} has output={raw['output']!r}; expected 'Yes.' or 'No.'")
        if has_empty_history(raw["input"]):
            if empty_history == "error":
                raise DataError(f"{path}: row {i} has an empty preference/unpreference list (empty_history=error)")
            if empty_history == "drop":
                dropped += 1
                continue
        rows.append({"instruction": raw["instruction"], "input": raw["input"], "output": raw["output"],
                     "label": label})
        if limit is not None and len(rows) >= limit:
            break
    if dropped:
        logger.info("%s: dropped %d rows with an empty history list", path, dropped)
    if not rows:
        raise DataError(f"{path}: no usable rows")
    return rows


def sample_few_shot(rows: Sequence[dict[str, Any]], k: int, seed: int, balanced: bool = False) -> list[dict[str, Any]]:
    """Draw ``k`` training examples, seeded (TALLRec: ``train.shuffle(seed).select(range(k))``).

    Args:
        rows: labelled rows (``label`` in {0, 1}).
        k: number of examples (TALLRec uses 16, 64, 256).
        seed: RNG seed; the same seed gives the same sample.
        balanced: take k/2 of each class (k odd: the extra one is positive); else the natural label mix.

    Raises:
        DataError: ``k`` exceeds the data (or a class, when balanced).

    Example:
        >>> rows = [{"label": i % 2} for i in range(10)]
        >>> [r["label"] for r in sample_few_shot(rows, 4, seed=0, balanced=True)].count(1)
        2
    """
    if k < 1 or k > len(rows):
        raise DataError(f"few-shot size k={k} must be between 1 and the number of rows ({len(rows)})")
    rng = random.Random(seed)
    if not balanced:
        return rng.sample(list(rows), k)
    pos = [r for r in rows if r["label"] == 1]
    neg = [r for r in rows if r["label"] == 0]
    n_pos, n_neg = k - k // 2, k // 2
    if n_pos > len(pos) or n_neg > len(neg):
        raise DataError(f"balanced few-shot k={k} needs {n_pos} Yes and {n_neg} No rows; "
                        f"data has {len(pos)}/{len(neg)}")
    picked = rng.sample(pos, n_pos) + rng.sample(neg, n_neg)
    rng.shuffle(picked)
    return picked


class AlpacaPrompt:
    """TALLRec's alpaca-lora prompt (``finetune_rec.py::generate_prompt``); the answer follows ``### Response:\\n``.

    TALLRec's literal ``  # noqa: E501`` inside the header is not reproduced (it is an upstream typo).
    """

    def __call__(self, row: dict[str, Any], tokenizer: Any = None) -> str:
        return (f"{ALPACA_HEADER}\n\n### Instruction:\n{row['instruction']}\n\n### Input:\n{row['input']}\n\n"
                "### Response:\n")


class ChatPrompt:
    """The tokenizer's chat template: instruction + input as one user turn, then the assistant header.

    Args:
        system: optional system message (None keeps the template's default, e.g. SmolLM2's).
    """

    def __init__(self, system: str | None = None) -> None:
        self.system = system

    def __call__(self, row: dict[str, Any], tokenizer: Any) -> str:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": f"{row['instruction']}\n\n{row['input']}"})
        return chat_prompt_text(tokenizer, messages)


def chat_prompt_text(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """``messages`` in the chat template with the generation prompt, as a string to be tokenised later.

    The tokenizer adds BOS itself when the string is tokenised (TRL and the yes/no scorer both do), so a BOS that
    the template wrote is removed: no double BOS.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    bos = tokenizer.bos_token
    adds_bos = bos is not None and tokenizer("x").input_ids[:1] == [tokenizer.bos_token_id]
    return text[len(bos):] if adds_bos and text.startswith(bos) else text


def answer_text(row: dict[str, Any]) -> str:
    """The training target: TALLRec's ``"Yes."`` / ``"No."`` (normalised from the label)."""
    return "Yes." if row["label"] == 1 else "No."


def subsample(rows: Sequence[dict[str, Any]], limit: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """A seeded random subset of ``limit`` rows in their original order (all rows when limit is None or larger).

    Example:
        >>> len(subsample([{"i": i} for i in range(10)], 3)), len(subsample([{"i": 1}], None))
        (3, 1)
    """
    if limit is None or limit >= len(rows):
        return list(rows)
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in keep]


def build_tallrec_splits(train_path: str, valid_path: str, test_path: str, num_train: int, seed: int,
                         balanced: bool = False, valid_limit: int | None = None, test_limit: int | None = None,
                         empty_history: str = "keep", eval_seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Few-shot train sample plus validation and test rows.

    Validation rows identical to a sampled training row are removed, so ``train_path == valid_path`` works (book
    has no train file: sample the few-shot set from book/valid.json and select on the rest of it). Validation and
    test subsets (``*_limit``) use ``eval_seed``, not ``seed``, so runs with different seeds share them.

    Raises:
        DataError: unreadable files, bad rows, or ``num_train`` larger than the training file.
    """
    pool = load_tallrec(train_path, empty_history=empty_history)
    train = sample_few_shot(pool, num_train, seed, balanced)
    seen = {(r["instruction"], r["input"]) for r in train}
    valid = [r for r in load_tallrec(valid_path, empty_history=empty_history)
             if (r["instruction"], r["input"]) not in seen]
    if not valid:
        raise DataError(f"{valid_path}: no validation rows left after removing the {num_train} training rows")
    test = load_tallrec(test_path, empty_history=empty_history)
    return {"train": train, "valid": subsample(valid, valid_limit, eval_seed),
            "test": subsample(test, test_limit, eval_seed)}


def to_prompt_completion(rows: Sequence[dict[str, Any]], prompt: Any, tokenizer: Any) -> list[dict[str, str]]:
    """TRL prompt-completion rows (loss on the completion only) from TALLRec rows."""
    return [{"prompt": prompt(r, tokenizer), "completion": answer_text(r)} for r in rows]
