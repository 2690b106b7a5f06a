"""runtime/callbacks.PatienceStopper, the base of GRPO's validation stopper and SFT's AUC stopper."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rlpost.errors import ConfigError
from rlpost.methods.grpo.guards.early_stopping import EARLY_STATE, EarlyStopping
from rlpost.runtime.callbacks import PatienceStopper


def test_min_delta_patience_and_due() -> None:
    stopper = PatienceStopper(every=3, patience=2, min_delta=0.1)
    assert [stopper.record(s, v) for s, v in [(0, 0.5), (3, 0.55), (6, 0.7), (9, 0.75), (12, 0.78)]] == [
        True, False, True, False, False]
    assert (stopper.best_step, stopper.best_value, stopper.misses, stopper.out_of_patience) == (6, 0.7, 2, True)
    assert [s for s in range(10) if stopper.due(s, last_step=8)] == [0, 3, 6, 8, 9]


def test_patience_zero_never_stops_sft_style() -> None:
    stopper = PatienceStopper(every=1, patience=0)
    for step in range(5):
        stopper.record(step, 0.5)
    assert stopper.misses == 4 and not stopper.out_of_patience


def test_grpo_patience_must_be_positive() -> None:
    with pytest.raises(ConfigError, match=r"^guards.early_stopping.patience=0 must be >= 1"):
        EarlyStopping(patience=0)


def test_grpo_state_written_before_the_base_class_resumes(tmp_path) -> None:
    """A checkpoint state in the format written before PatienceStopper (same keys) resumes."""
    ckpt = tmp_path / "checkpoint-4"
    ckpt.mkdir()
    (ckpt / EARLY_STATE).write_text(json.dumps({"history": [[0, 0.5], [2, 0.7], [4, 0.6]], "best": [2, 0.7],
                                                "bad_evals": 1, "stopped_early": False, "best_weights": None}))
    es = EarlyStopping(eval_steps=2, patience=2)
    es.restore(SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=4))
    assert (es.best, es.bad_evals, es.history) == ((2, 0.7), 1, [(0, 0.5), (2, 0.7), (4, 0.6)])
    assert not es.record(6, 0.7) and es.out_of_patience
