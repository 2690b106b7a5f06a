"""The AUC early-stopping state survives a resume: saved into each checkpoint, restored with the best adapter."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from rlpost.methods.sft.auc_stopping import AUC_STATE, BEST_INFO, CHECKPOINT_BEST, AucEarlyStopping, read_best_step

LABELS = [0, 0, 1, 1]
SCORES = {0.5: [0.5, 0.5, 0.5, 0.5], 0.75: [0.1, 0.8, 0.2, 0.9], 1.0: [0.1, 0.2, 0.8, 0.9]}


class _Scorer:
    """Returns the scores giving the next AUC in ``aucs``."""

    def __init__(self, aucs: list[float]) -> None:
        self.aucs = list(aucs)

    def score(self, model, tokenizer, prompts, desc: str = "") -> list[float]:
        return SCORES[self.aucs.pop(0)]


class _Model:
    """Writes which step it was saved at, like an adapter's ``save_pretrained``."""

    def __init__(self) -> None:
        self.step = 0

    def save_pretrained(self, path: Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "adapter_model.safetensors").write_text(f"weights at step {self.step}")


def _callback(tmp_path: Path, aucs: list[float], patience: int = 10) -> AucEarlyStopping:
    return AucEarlyStopping(eval_steps=1, patience=patience, scorer=_Scorer(aucs), tokenizer=None,
                            prompts=["p"] * 4, labels=LABELS, save_dir=tmp_path / "adapter_best")


def _without_timing(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def _step(cb: AucEarlyStopping, model: _Model, state: SimpleNamespace, control: SimpleNamespace) -> None:
    state.global_step += 1
    model.step = state.global_step
    cb.on_step_end(None, state, control, model=model)


def test_resumed_callback_restores_state_and_best_adapter(tmp_path: Path) -> None:
    args = SimpleNamespace(output_dir=str(tmp_path / "checkpoints"))
    state, control, model = SimpleNamespace(global_step=0, max_steps=10), SimpleNamespace(), _Model()
    first = _callback(tmp_path, [0.5, 0.75, 0.5, 1.0])
    first.on_train_begin(args, state, control, model=model)  # step 0: 0.5
    _step(first, model, state, control)  # step 1: 0.75, new best
    _step(first, model, state, control)  # step 2: 0.5, a miss
    (tmp_path / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    first.on_save(args, state, control)
    _step(first, model, state, control)  # step 3: 1.0 overwrites adapter_best, then the run is killed
    assert read_best_step(tmp_path / "adapter_best") == 3

    saved = json.loads((tmp_path / "checkpoints" / "checkpoint-2" / AUC_STATE).read_text())
    assert (saved["best_auc"], saved["best_step"], saved["misses"]) == (0.75, 1, 1)
    checkpoint = tmp_path / "checkpoints" / "checkpoint-2"
    assert (checkpoint / CHECKPOINT_BEST / BEST_INFO).is_file()
    # transformers < 5.23 resumes a checkpoint with a direct subfolder holding adapter weights as a multi-adapter
    # checkpoint and skips the trained adapter: none may exist
    assert not [d.name for d in checkpoint.iterdir() if d.is_dir() and any(d.glob("adapter_model.*"))]

    resumed = _callback(tmp_path, [1.0])  # HF restored global_step=2 from checkpoint-2
    state, model = SimpleNamespace(global_step=2, max_steps=10), _Model()
    resumed.on_train_begin(args, state, control, model=model)  # restores; no evaluation at a resumed start
    assert (resumed.best_auc, resumed.best_step, resumed.misses) == (0.75, 1, 1)
    assert [h["step"] for h in resumed.history] == [0, 1, 2] and resumed.history == first.history[:3]
    assert (tmp_path / "adapter_best" / "adapter_model.safetensors").read_text() == "weights at step 1"
    _step(resumed, model, state, control)  # the replayed step 3 finds the same best again
    assert (resumed.best_auc, resumed.best_step) == (1.0, 3)
    assert _without_timing(resumed.history) == _without_timing(first.history)


def test_resume_after_patience_ran_out_stops_without_scoring(tmp_path: Path) -> None:
    args = SimpleNamespace(output_dir=str(tmp_path / "checkpoints"))
    state, control, model = SimpleNamespace(global_step=0, max_steps=10), SimpleNamespace(), _Model()
    first = _callback(tmp_path, [0.75, 0.5, 0.5], patience=2)
    first.on_train_begin(args, state, control, model=model)
    _step(first, model, state, control)
    _step(first, model, state, control)
    assert control.should_training_stop
    (tmp_path / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    first.on_save(args, state, control)

    resumed, control = _callback(tmp_path, [], patience=2), SimpleNamespace(should_training_stop=False)
    resumed.on_train_begin(args, SimpleNamespace(global_step=2, max_steps=10), control, model=model)
    _step(resumed, model, SimpleNamespace(global_step=2, max_steps=10), control)  # an empty scorer would raise
    assert control.should_training_stop and resumed.best_step == 0


def test_checkpoint_without_auc_state_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / "checkpoints" / "checkpoint-4").mkdir(parents=True)
    cb = _callback(tmp_path, [])
    cb.on_train_begin(SimpleNamespace(output_dir=str(tmp_path / "checkpoints")),
                      SimpleNamespace(global_step=4, max_steps=10), SimpleNamespace(), model=_Model())
    assert cb.best_step == -1 and cb.history == []
