"""Checkpoint commit markers, rotation, resume selection and run fingerprints (no trainer)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from rlpost.checkpoint.commit import COMPLETE_MARKER, CheckpointCommitCallback, commit_callback
from rlpost.checkpoint.manifest import list_checkpoints
from rlpost.checkpoint.resume import (
    FINGERPRINT,
    check_fingerprint,
    find_resume_checkpoint,
    prepare_resume,
    run_fingerprint,
)
from rlpost.errors import ConfigError


def _ckpt(root: Path, step: int, committed: bool = True, value: float | None = None) -> Path:
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "trainer_state.json").write_text("{}")  # HF's last file: present even in a half-committed one
    if committed:
        (path / COMPLETE_MARKER).write_text(json.dumps({"step": step, "value": value}))
    return path


def test_half_written_checkpoint_is_never_picked(tmp_path: Path) -> None:
    _ckpt(tmp_path, 2)
    _ckpt(tmp_path, 10)
    _ckpt(tmp_path, 12, committed=False)  # killed mid-save: trainer_state.json exists, no marker
    (tmp_path / "checkpoint-14").mkdir()  # killed right at the start of a save
    assert find_resume_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert find_resume_checkpoint(tmp_path / "missing") is None


def test_prepare_resume_removes_uncommitted_and_records_fingerprint(tmp_path: Path) -> None:
    run = run_fingerprint("rlpost.methods.grpo.pipeline.run", "grpo-s0", {"name": "tiny_random", "path": None})
    assert prepare_resume(tmp_path, run) is None
    fingerprint = json.loads((tmp_path / FINGERPRINT).read_text())
    assert fingerprint["model"] == "tiny_random"
    _ckpt(tmp_path, 4)
    _ckpt(tmp_path, 6, committed=False)
    assert prepare_resume(tmp_path, run) == str(tmp_path / "checkpoint-4")
    assert [step for step, _ in list_checkpoints(tmp_path)] == [4]


def test_checkpoints_from_another_model_or_recipe_are_refused(tmp_path: Path) -> None:
    check_fingerprint(tmp_path, {"pipeline": "p", "recipe": "grpo", "model": "tiny_random"})
    _ckpt(tmp_path, 2)
    with pytest.raises(ConfigError, match="different run.*model: 'tiny_random' there, 'smollm2' now"):
        check_fingerprint(tmp_path, {"pipeline": "p", "recipe": "grpo", "model": "smollm2"})
    with pytest.raises(ConfigError, match="recipe"):
        check_fingerprint(tmp_path, {"pipeline": "p", "recipe": "grpo_other", "model": "tiny_random"})


def test_checkpoints_fingerprinted_before_the_package_move_still_resume(tmp_path: Path) -> None:
    new = {"pipeline": "rlpost.methods.sft.pipeline.run", "recipe": "sft", "model": "tiny_random"}
    (tmp_path / FINGERPRINT).write_text(json.dumps({**new, "pipeline": "rlpost.pipelines.sft.run"}))
    _ckpt(tmp_path, 2)
    check_fingerprint(tmp_path, new)  # no error: the old module path names the same pipeline
    with pytest.raises(ConfigError, match="pipeline: 'rlpost.methods.sft.pipeline.run' there"):
        check_fingerprint(tmp_path, {**new, "pipeline": "rlpost.methods.grpo.pipeline.run"})


def test_checkpoints_without_fingerprint_are_refused(tmp_path: Path) -> None:
    _ckpt(tmp_path, 2)
    with pytest.raises(ConfigError, match="without rlpost_fingerprint.json"):
        check_fingerprint(tmp_path, {"pipeline": "p", "recipe": "grpo", "model": "m"})


def test_commit_marks_and_rotates_keep_last_plus_best(tmp_path: Path) -> None:
    args = SimpleNamespace(output_dir=str(tmp_path), save_total_limit=2, metric_for_best_model="reward",
                           greater_is_better=True)
    callback = commit_callback(args)
    assert args.save_total_limit is None  # HF's rotation is off; the callback rotates after the commit
    for step, reward in [(1, 0.2), (2, 0.9), (3, 0.1), (4, 0.3)]:
        _ckpt(tmp_path, step, committed=False)
        callback.on_log(args, None, None, logs={"reward": reward})
        callback.on_save(args, SimpleNamespace(global_step=step, is_world_process_zero=True), None)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2, 3, 4]  # newest 2 + best (step 2)
    assert json.loads((tmp_path / "checkpoint-2" / COMPLETE_MARKER).read_text())["value"] == 0.9


def test_rotation_drops_stale_uncommitted_directories(tmp_path: Path) -> None:
    _ckpt(tmp_path, 1, committed=False)
    _ckpt(tmp_path, 2, committed=False)
    CheckpointCommitCallback(keep_last=None).on_save(
        SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=2, is_world_process_zero=True), None)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2]
    assert find_resume_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
