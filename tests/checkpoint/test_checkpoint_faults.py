"""Faults around checkpoints: a committed checkpoint damaged later, and a full disk while training or saving."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from rlpost.checkpoint.commit import COMPLETE_MARKER, CheckpointCommitCallback
from rlpost.checkpoint.manifest import list_checkpoints
from rlpost.checkpoint.resume import prepare_resume, run_trainer
from rlpost.errors import ConfigError, StorageError

RUN = {"pipeline": "rlpost.methods.sft.pipeline.run", "recipe": "sft-s0", "model": "tiny_random"}  # fingerprint


def _committed(root: Path, step: int) -> Path:
    """A checkpoint committed the way the callback does it (marker with the file list)."""
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"w" * 64)
    (path / "optimizer.pt").write_bytes(b"o" * 128)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    CheckpointCommitCallback(keep_last=None).on_save(
        SimpleNamespace(output_dir=str(root)), SimpleNamespace(global_step=step, is_world_process_zero=True), None)
    return path


def test_marker_lists_files_and_sizes(tmp_path: Path) -> None:
    path = _committed(tmp_path, 2)
    files = json.loads((path / COMPLETE_MARKER).read_text())["files"]
    assert files["optimizer.pt"] == {"size": 128}
    assert files["trainer_state.json"]["size"] > 0 and len(files["trainer_state.json"]["sha256"]) == 64
    assert COMPLETE_MARKER not in files


@pytest.mark.parametrize("damage, bad", [
    (lambda p: (p / "optimizer.pt").write_bytes(b"o" * 10), "optimizer.pt has 10 bytes, 128 when committed"),
    (lambda p: (p / "model.safetensors").unlink(), "model.safetensors is missing"),
    (lambda p: (p / "trainer_state.json").write_text(json.dumps({"global_step": 9})), "trainer_state.json differs"),
    (lambda p: (p / COMPLETE_MARKER).write_text('{"step": 4, "fil'), f"{COMPLETE_MARKER} is not valid JSON"),
])
def test_damaged_committed_checkpoint_is_a_one_line_error(tmp_path: Path, damage, bad: str) -> None:
    assert prepare_resume(tmp_path, RUN) is None  # records the fingerprint
    older, newest = _committed(tmp_path, 2), _committed(tmp_path, 4)
    damage(newest)
    with pytest.raises(ConfigError) as info:
        prepare_resume(tmp_path, RUN)
    message = str(info.value)
    assert "\n" not in message and f"checkpoint {newest} is damaged" in message and bad in message
    assert f"delete {newest} to resume from {older} (the previous committed checkpoint)" in message
    assert "new run_dir" in message
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2, 4], "nothing is deleted automatically"


def test_damaged_only_checkpoint_points_to_step_zero(tmp_path: Path) -> None:
    prepare_resume(tmp_path, RUN)
    (_committed(tmp_path, 3) / "optimizer.pt").unlink()
    with pytest.raises(ConfigError, match="optimizer.pt is missing; delete .*checkpoint-3 to start again from step 0"):
        prepare_resume(tmp_path, RUN)


def test_old_marker_without_file_list_is_accepted(tmp_path: Path) -> None:
    prepare_resume(tmp_path, RUN)
    path = _committed(tmp_path, 2)
    (path / COMPLETE_MARKER).write_text(json.dumps({"step": 2, "value": None}))
    (path / "optimizer.pt").write_bytes(b"")  # cannot be checked without the list
    assert prepare_resume(tmp_path, RUN) == str(path)


def test_unreadable_marker_does_not_break_rotation(tmp_path: Path) -> None:
    (_committed(tmp_path, 1) / COMPLETE_MARKER).write_text("{not json")
    _committed(tmp_path, 2)
    callback = CheckpointCommitCallback(keep_last=1)
    (tmp_path / "checkpoint-3").mkdir()
    callback.on_save(SimpleNamespace(output_dir=str(tmp_path)),
                     SimpleNamespace(global_step=3, is_world_process_zero=True), None)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3]


class _FullDiskTrainer:
    """Stands in for an HF trainer whose save raises ``error`` (train) or whose final save does (save_model)."""

    def __init__(self, error: BaseException, in_final_save: bool = False) -> None:
        self.error, self.in_final_save, self.resumed_from = error, in_final_save, "unset"

    def train(self, resume_from_checkpoint: str | None = None) -> None:
        self.resumed_from = resume_from_checkpoint
        if not self.in_final_save:
            raise self.error

    def save_model(self, output_dir: str) -> None:
        raise self.error


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    # what safetensors raises for ENOSPC (measured on a 1 MiB tmpfs)
    RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),
])
@pytest.mark.parametrize("in_final_save", [False, True])
def test_full_disk_is_one_line_naming_the_last_commit(tmp_path: Path, error: BaseException,
                                                      in_final_save: bool) -> None:
    prepare_resume(tmp_path, RUN)
    committed = _committed(tmp_path, 2)
    trainer = _FullDiskTrainer(error, in_final_save)
    with pytest.raises(StorageError) as info:
        run_trainer(trainer, tmp_path, RUN, final_dir=tmp_path / "final")
    message = str(info.value)
    assert trainer.resumed_from == str(committed)
    assert "\n" not in message and f"disk full while writing under {tmp_path}" in message
    assert f"the last committed checkpoint {committed} is intact" in message
    assert "ignored and removed on resume" in message and info.value.__cause__ is error


def test_full_disk_before_any_commit_and_other_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no checkpoint was committed yet"):
        run_trainer(_FullDiskTrainer(OSError(errno.ENOSPC, "full")), tmp_path, RUN)
    with pytest.raises(PermissionError):  # not a full disk: passes through unchanged
        run_trainer(_FullDiskTrainer(PermissionError(errno.EACCES, "denied")), tmp_path, RUN)


def test_full_disk_inside_a_real_trainer_save_keeps_the_committed_checkpoint(tmp_path: Path, monkeypatch) -> None:
    """HF Trainer on a 4-parameter model: step 2 commits, the save at step 4 hits ENOSPC after the weights."""
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from rlpost.checkpoint.commit import commit_callback

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Linear(2, 2)

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss": torch.nn.functional.mse_loss(self.w(x), labels)}

    def full_disk(self, output_dir: str) -> None:
        if self.state.global_step == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(Path(output_dir) / "rng_state.pth"))

    monkeypatch.setattr(Trainer, "_save_rng_state", full_disk)
    data = Dataset.from_dict({"x": [[1.0, 2.0]] * 16, "labels": [[0.5, -0.5]] * 16})
    out = tmp_path / "checkpoints"
    args = TrainingArguments(output_dir=str(out), max_steps=6, save_strategy="steps", save_steps=2,
                             per_device_train_batch_size=2, report_to=[], use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=Tiny(), args=args, train_dataset=data, callbacks=[commit_callback(args)])
    with pytest.raises(StorageError, match=f"last committed checkpoint {out / 'checkpoint-2'} is intact"):
        run_trainer(trainer, out, RUN)
    half = out / "checkpoint-4"
    assert (half / "model.safetensors").is_file() and not (half / COMPLETE_MARKER).exists()
    assert prepare_resume(out, RUN) == str(out / "checkpoint-2")  # the half-written checkpoint-4 is removed
    assert [s for s, _ in list_checkpoints(out)] == [2]


def test_torch_save_on_full_disk_is_recognised_by_the_free_space(tmp_path: Path, monkeypatch) -> None:
    """torch.save on a full disk raises ``RuntimeError('... unexpected pos 704 vs 598')`` naming no cause (measured
    on a 256 KiB tmpfs): with (almost) no space left under the output dir it is reported as a full disk."""
    import rlpost.checkpoint.resume as checkpoints

    error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    monkeypatch.setattr(checkpoints, "free_bytes", lambda path: 0)
    with pytest.raises(StorageError, match="RuntimeError: .*unexpected pos 704 vs 598"):
        run_trainer(_FullDiskTrainer(error), tmp_path, RUN)
    monkeypatch.setattr(checkpoints, "free_bytes", lambda path: 10 * 2**30)
    with pytest.raises(RuntimeError, match="unexpected pos"):  # plenty of space: not a full disk, passes through
        run_trainer(_FullDiskTrainer(error), tmp_path, RUN)
