"""Instruction-following training data: generated constraint prompts, constraint files, and an overlap guard.

- :func:`generate_constraint_prompts`: rlpost's own generic requests ("Write a short blog post about ...") with
  IFEval-style constraints attached, the types and kwargs drawn at random by IFEval's own checkers
  (``build_description()`` with no arguments draws them, and writes the instruction text); conflicting pairs are
  never drawn together (IFEval's ``INSTRUCTION_CONFLICTS``). Train and validation splits use disjoint topics.
  Nothing is downloaded, and IFEval's prompts are never used.
- :func:`load_constraint_file`: rows in IFEval's format (``prompt``, ``instruction_id_list``, ``kwargs``) or
  VerInstruct's (VerIF, Peng et al. 2025: ``checkers`` named ``[rule] ...`` / ``[llm] ...`` and ``functions``
  holding each rule's ``check_following`` code, at the top level or as JSON in ``labels``/``ground_truth``).
- :func:`check_no_overlap`: refuses training prompts that also appear in the evaluation file.

Rows get ``prompt_id``, ``question``, ``answer=None`` and the constraint columns of
:mod:`rlpost.rewards.instruction_following.reward` (``kwargs`` stored as JSON text, one dict per id).
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.data.sources.files import stable_prompt_id
from rlpost.errors import DataError
from rlpost.io import read_records

logger = logging.getLogger(__name__)

TASKS = (
    "Write a short blog post about {topic}.",
    "Explain {topic} to a ten-year-old.",
    "Write a letter to a friend about {topic}.",
    "Give advice to someone who wants to learn about {topic}.",
    "Write a short story that involves {topic}.",
    "Describe the pros and cons of {topic}.",
    "Write a product description for something related to {topic}.",
    "Write a speech for a school assembly about {topic}.",
    "Summarize what people should know about {topic}.",
    "Write a poem about {topic}.",
    "Write an email to a colleague about {topic}.",
    "Write a travel guide entry that mentions {topic}.",
    "Write a news report about a recent event involving {topic}.",
    "Describe a typical day for someone who works with {topic}.",
    "Write a dialogue between two people discussing {topic}.",
    "List some surprising facts about {topic}.",
)
TOPICS = (
    "gardening", "the history of bicycles", "learning a new language", "renewable energy", "city parks",
    "healthy breakfasts", "the ocean", "public libraries", "board games", "volcanoes", "honey bees",
    "remote work", "the moon landing", "street food", "classical music", "mountain hiking", "recycling",
    "the invention of paper", "rainy days", "space telescopes", "coffee", "winter sports", "old castles",
    "electric cars", "friendship", "saving money", "photography", "trains", "dinosaurs", "chess",
    "a small bakery", "the water cycle", "birthday parties", "robots", "desert animals", "a lighthouse",
    "first jobs", "jazz", "time management", "snow", "a museum visit", "pets", "the printing press",
    "marathons", "video games", "a camping trip", "bridges", "tea ceremonies", "volunteering", "rivers",
)
VALIDATION_EVERY = 5  # topics 0, 5, 10, ... form the validation split; the rest train


def _conflicts() -> dict[str, set[str]]:
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_CONFLICTS, conflict_make

    return conflict_make({k: set(v) for k, v in INSTRUCTION_CONFLICTS.items()})


def split_topics(split: str) -> list[str]:
    """Topics of the ``train`` or ``validation`` split (disjoint).

    Example:
        >>> split_topics("validation")[:2]
        ['gardening', 'healthy breakfasts']
    """
    if split not in ("train", "validation"):
        raise DataError(f"data.source.split={split!r}: choose train or validation")
    keep = (lambda i: i % VALIDATION_EVERY == 0) if split == "validation" else (lambda i: i % VALIDATION_EVERY)
    return [t for i, t in enumerate(TOPICS) if keep(i)]


def draw_constraints(rng: random.Random, base: str, types: Sequence[str], k: int) -> tuple[list[str], list[dict],
                                                                                             list[str]]:
    """``k`` non-conflicting constraint ids with kwargs and instruction texts drawn by IFEval's checkers."""
    from rlpost.text.instruction_checks import registry

    known, conflicts = registry(), _conflicts()
    ids: list[str] = []
    for instruction_id in rng.sample(list(types), len(types)):
        if len(ids) == k:
            break
        if not any(instruction_id in conflicts.get(x, {x}) or x in conflicts.get(instruction_id, set())
                   for x in ids):
            ids.append(instruction_id)
    kwargs, texts = [], []
    state = random.getstate()  # IFEval's checkers draw from the global RNG; seed it from ours, then restore it
    try:
        random.seed(rng.getrandbits(64))
        for instruction_id in ids:
            checker = known[instruction_id](instruction_id)
            if instruction_id == "combination:repeat_prompt":
                texts.append(checker.build_description(prompt_to_repeat=base))
            else:
                texts.append(checker.build_description())
            args = checker.get_instruction_args() or {}
            kwargs.append(dict(args))
    finally:
        random.setstate(state)
    return ids, kwargs, texts


def generate_constraint_prompts(size: int, seed: int = 0, split: str = "train", types: Sequence[str] | None = None,
                                min_constraints: int = 1, max_constraints: int = 2,
                                forbid_overlap_with: str | None = None) -> Any:
    """``size`` generated prompts with 1..``max_constraints`` sampled IFEval-style constraints each.

    Args:
        types: instruction ids to draw from (default: all 25 IFEval ids).
        forbid_overlap_with: an evaluation file (IFEval's ``input_data.jsonl``); generation fails if a prompt
            appears in it (:func:`check_no_overlap`).
    """
    from datasets import Dataset

    from rlpost.text.instruction_checks import registry

    known = registry()
    types = list(types) if types else sorted(known)
    unknown = [t for t in types if t not in known]
    if unknown:
        raise DataError(f"data.source.types: unknown instruction id(s) {unknown}")
    if not 1 <= min_constraints <= max_constraints:
        raise DataError(f"data.source.min_constraints={min_constraints} / max_constraints={max_constraints}: "
                        "need 1 <= min <= max")
    rng = random.Random(seed)
    topics = split_topics(split)
    rows = []
    for i in range(size):
        base = rng.choice(TASKS).format(topic=rng.choice(topics))
        ids, kwargs, texts = draw_constraints(rng, base, types, rng.randint(min_constraints, max_constraints))
        question = " ".join([base, *texts])
        rows.append({"prompt_id": f"ifgen-{split}-{seed}-{i}", "question": question, "task": base,
                     "answer": None, "instruction_id_list": ids, "kwargs": json.dumps(kwargs)})
    if forbid_overlap_with:
        check_no_overlap([r["question"] for r in rows], forbid_overlap_with, f"data.source (split {split})")
    return Dataset.from_list(rows)


def _prompt_text(row: dict[str, Any], prompt_field: str, origin: str) -> str:
    value = row.get(prompt_field)
    if isinstance(value, str) and value.strip():
        return value
    messages = row.get("messages")
    if isinstance(messages, list):
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users and isinstance(users[-1], str) and users[-1].strip():
            return users[-1]
    raise DataError(f"{origin}: no non-empty {prompt_field!r} field (nor a user turn in 'messages')")


def _verinstruct_constraints(row: dict[str, Any], origin: str) -> tuple[list[str], list[str]] | None:
    """``(checker codes, soft constraint texts)`` of a VerInstruct row, or None if it has none of its fields."""
    item = row
    for key in ("labels", "ground_truth"):
        if isinstance(row.get(key), str) and "checkers" in row[key]:
            try:
                item = json.loads(row[key])
            except json.JSONDecodeError as err:
                raise DataError(f"{origin}: {key} is not valid JSON ({err.msg})") from None
    if "checkers" not in item:
        return None
    checkers, functions = list(item.get("checkers") or []), list(item.get("functions") or [])
    if len(functions) < len(checkers):
        functions += [None] * (len(checkers) - len(functions))
    codes, soft = [], []
    for j, (name, code) in enumerate(zip(checkers, functions, strict=False)):
        name = str(name)
        if "[rule]" in name:
            if not isinstance(code, str) or "check_following" not in code:
                raise DataError(f"{origin}: constraint {j} ({name[:60]}): no check_following code")
            try:
                compile(code, f"{origin} constraint {j}", "exec")
            except SyntaxError as err:
                raise DataError(f"{origin}: constraint {j} ({name[:60]}): checker code does not parse "
                                f"(line {err.lineno}: {err.msg})") from None
            codes.append(code)
        elif "[llm]" in name:
            soft.append(name.replace("[llm]", "").strip())
        else:
            raise DataError(f"{origin}: constraint {j} ({name[:60]}): name must contain [rule] or [llm]")
    return codes, soft


def load_constraint_file(path: str, prompt_field: str = "prompt", prompt_id_field: str | None = None,
                         limit: int | None = None, forbid_overlap_with: str | None = None) -> Any:
    """Rows with constraints in IFEval's or VerInstruct's format (see the module docstring).

    Raises:
        DataError: one line naming the file, row and constraint: no constraints, an unknown constraint id, kwargs
            that do not fit the checker, checker code that does not parse.
    """
    from datasets import Dataset

    from rlpost.text.instruction_checks import validate_constraints

    records = read_records(path)
    if limit:
        records = records[:limit]
    rows = []
    for i, row in enumerate(records, 1):
        origin = f"{path}: row {i}"
        question = _prompt_text(row, prompt_field, origin)
        out = {"prompt_id": str(row[prompt_id_field]) if prompt_id_field and row.get(prompt_id_field) is not None
               else stable_prompt_id(question), "question": question, "answer": None,
               "instruction_id_list": [], "kwargs": "[]", "checker_code": [], "soft_constraints": []}
        verinstruct = _verinstruct_constraints(row, origin)
        if "instruction_id_list" in row:
            kwargs = validate_constraints(row["instruction_id_list"], row.get("kwargs"), origin, question)
            out.update(instruction_id_list=[str(x) for x in row["instruction_id_list"]], kwargs=json.dumps(kwargs))
        if verinstruct is not None:
            out.update(checker_code=verinstruct[0], soft_constraints=verinstruct[1])
        if not (out["instruction_id_list"] or out["checker_code"] or out["soft_constraints"]):
            raise DataError(f"{origin}: no constraints (needs instruction_id_list + kwargs, or VerInstruct "
                            "checkers + functions)")
        rows.append(out)
    if forbid_overlap_with:
        check_no_overlap([r["question"] for r in rows], forbid_overlap_with, str(path))
    return Dataset.from_list(rows)


def normalise_prompt(text: str) -> str:
    """Case- and whitespace-insensitive form of a prompt for overlap checks.

    Example:
        >>> normalise_prompt("  Write a Poem.\\n\\nNo commas ")
        'write a poem. no commas'
    """
    return re.sub(r"\s+", " ", text).strip().lower()


def check_no_overlap(questions: Sequence[str], eval_path: str, origin: str, prompt_field: str = "prompt") -> None:
    """Refuse training prompts that appear (after :func:`normalise_prompt`) in the evaluation file.

    A missing evaluation file is logged and skipped: there is nothing to protect.

    Raises:
        DataError: naming the first overlapping training row and the evaluation file.
    """
    path = Path(eval_path).expanduser()
    if not path.is_file():
        logger.info("overlap check skipped: evaluation file %s not found", path)
        return
    held_out = {normalise_prompt(str(r.get(prompt_field, ""))) for r in read_records(path)}
    for i, q in enumerate(questions, 1):
        if normalise_prompt(q) in held_out:
            raise DataError(f"{origin}: row {i} is a prompt of the evaluation file {path}; refusing to train on "
                            "evaluation prompts (remove it, or point forbid_overlap_with elsewhere)")
