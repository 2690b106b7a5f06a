"""bench.experiments.budget: continuing an earlier budget run (``--continue-from``)."""

from __future__ import annotations

import json

import pytest
from bench.experiments.budget import seed_from_earlier

ARGS = ["--config-name=c", "model=m", "eval=none", "max_train_minutes=30.0", "seed=1"]


def _earlier(root, args=ARGS, step=59):
    train = root / "train"
    ckpt = train / "checkpoints" / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_text("weights")
    (ckpt / "rlpost_complete.json").write_text("{}")
    (train / "checkpoints" / "rlpost_fingerprint.json").write_text('{"recipe": "c"}')
    (train / "step.json").write_text(json.dumps({"module": "rlpost.train", "args": args}))
    return train


def test_seed_copies_the_last_checkpoint_and_sums_the_budget(tmp_path):
    earlier = _earlier(tmp_path / "a")
    run = tmp_path / "b" / "train"
    now = [a.replace("30.0", "20.0") for a in ARGS]
    assert seed_from_earlier(earlier, run, now) == 30.0
    assert (run / "checkpoints" / "checkpoint-59" / "model.safetensors").read_text() == "weights"
    assert (run / "checkpoints" / "rlpost_fingerprint.json").is_file()
    assert not list((run / "checkpoints").glob("*.partial"))
    assert json.loads((run / "continued_from.json").read_text())["minutes_total"] == 50.0
    assert seed_from_earlier(earlier, run, now) == 30.0  # a rerun (resumed benchmark) leaves it as it is
    # a continuation of a continuation counts every earlier budget
    (run / "step.json").write_text(json.dumps({"module": "rlpost.train", "args": now}))
    assert seed_from_earlier(run, tmp_path / "c" / "train", ARGS) == 50.0


def test_seed_refuses_other_arguments_or_no_checkpoint(tmp_path):
    earlier = _earlier(tmp_path / "a")
    with pytest.raises(SystemExit, match=r"step.json trained with other arguments \(seed=1, seed=2 differ\)"):
        seed_from_earlier(earlier, tmp_path / "b" / "train", [*ARGS[:-1], "seed=2"])
    (earlier / "checkpoints" / "checkpoint-59" / "rlpost_complete.json").unlink()
    with pytest.raises(SystemExit, match="no committed checkpoint"):
        seed_from_earlier(earlier, tmp_path / "c" / "train", ARGS)
    with pytest.raises(SystemExit, match="step.json not found"):
        seed_from_earlier(tmp_path / "nothing", tmp_path / "d" / "train", ARGS)
