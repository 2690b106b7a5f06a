"""TimeBudgetCallback: snapshots at training-time marks (saving not counted), then the stop at the budget."""

from __future__ import annotations

import json
from types import SimpleNamespace


class _Model:
    def __init__(self, clock):
        self.clock, self.saved = clock, []

    def save_pretrained(self, path):
        path.mkdir(parents=True)
        self.saved.append(path.name)
        self.clock.now += 30.0  # a slow save: must not count as training time


def test_snapshots_at_marks_and_stop_at_budget(tmp_path, monkeypatch):
    from rlpost.runtime import callbacks

    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock.now)
    cb = callbacks.TimeBudgetCallback(3, snapshot_minutes=[1, 2, 3], snapshot_dir=tmp_path)
    model, control = _Model(clock), SimpleNamespace(should_training_stop=False, should_save=False)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0)
    cb.on_train_begin(None, state, control)
    stops = []
    for step in range(1, 20):
        clock.now += 25.0  # one step = 25 s of training
        state.global_step = step
        cb.on_step_end(None, state, control, model=model)
        stops.append(control.should_training_stop)
    assert model.saved == ["min1", "min2", "min3"]
    taken = json.loads((tmp_path / "snapshots.json").read_text())
    assert [t["step"] for t in taken] == [3, 5, 8]  # 75 s, 125 s, 200 s of training: saves excluded
    assert stops.index(True) == 7  # stopped at step 8 (200 s >= 180 s), not earlier because of the 90 s of saving
