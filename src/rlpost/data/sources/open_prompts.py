"""Open-ended prompt sources (no gold answer) for DivPO: a task prompt file, "name a random X", keyword stories.

Each prompt is repeated ``repeats`` times with distinct ``prompt_id`` values: every repeat is its own pool of N
completions, so one persona prompt yields ``repeats`` preference pairs per round.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.errors import DataError
from rlpost.io import read_json, read_records


def build_prompt_rows(questions: Sequence[tuple[str, str]], repeats: int) -> Any:
    """``(id, question)`` pairs -> a Dataset with ``prompt_id``, ``question``, ``answer=None``, repeated."""
    from datasets import Dataset

    if repeats < 1:
        raise DataError(f"data.source.repeats={repeats} must be >= 1")
    if not questions:
        raise DataError("data.source: no prompts")
    rows = [{"prompt_id": f"{pid}-r{j}", "question": q, "answer": None}
            for j in range(repeats) for pid, q in questions]
    return Dataset.from_list(rows)


def load_task_prompt(path: str, task: str, prompt_field: str = "prompt", repeats: int = 1) -> Any:
    """The prompt of ``tasks.<task>.<prompt_field>`` in a DivPO task file (``data.source.path``).

    Raises:
        DataError: missing/unreadable file, unknown task, or an empty/null prompt (naming the file and key).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"data.source.path={file}: file not found")
    document = read_json(file)
    tasks = document.get("tasks", {}) if isinstance(document, dict) else None
    if not isinstance(tasks, dict):
        raise DataError(f"data.source.path={file}: not a JSON object with a 'tasks' key")
    if task not in tasks:
        raise DataError(f"{file}: no task {task!r} (data.source.task; have {sorted(tasks)})")
    prompt = tasks[task].get(prompt_field)
    if not isinstance(prompt, str) or not prompt.strip():
        raise DataError(f"{file}: tasks.{task}.{prompt_field} is empty or null (data.source.prompt_field)")
    return build_prompt_rows([(task, prompt)], repeats)


def load_prompt_file(path: str, prompt_field: str = "prompt", repeats: int = 1) -> Any:
    """One prompt per row of a JSONL/JSON/CSV/Parquet file.

    Raises:
        DataError: empty file, or a row without a non-empty ``prompt_field`` (naming the file and row).
    """
    rows = read_records(path)
    questions = []
    for i, row in enumerate(rows, 1):
        text = row.get(prompt_field)
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path}: row {i} has no non-empty {prompt_field!r} field (data.source.prompt_field)")
        questions.append((str(row.get("prompt_id") or f"row{i}"), text))
    return build_prompt_rows(questions, repeats)


def random_x_prompts(categories: Sequence[str], template: str = "Name a random {x}. Answer with one word only.",
                     repeats: int = 1) -> Any:
    """One-word "name a random X" prompts, one per category (DivPO-style diversity probe).

    Example:
        >>> random_x_prompts(["fruit"], repeats=2)["prompt_id"][:]
        ['random-fruit-r0', 'random-fruit-r1']
    """
    return build_prompt_rows([(f"random-{x.replace(' ', '_')}", template.format(x=x)) for x in categories], repeats)


def keyword_story_prompts(titles: Sequence[str], template: str = (
        "Write exactly 5 keywords for a story titled \"{title}\". Answer with a comma-separated list only."),
        repeats: int = 1) -> Any:
    """Keyword-story prompts (DivPO task 2): five keywords for a story with the given title.

    The DivPO paper's exact prompt and titles are not public; this wording is
    rlpost's.
    """
    return build_prompt_rows([(f"story-{i}", template.format(title=t)) for i, t in enumerate(titles)], repeats)
