"""Kill -9 mid-training, re-run the same command: GRPO resumes from the last committed checkpoint and ends with
the same weights (and, with guards on, the same guard state) as an uninterrupted run; a half-written checkpoint is
never picked up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# measured: bit-for-bit equal (max abs diff 0.0; fp32, same seed, RNG + data order restored); 1e-6 leaves room
# for float noise from a different thread count
ATOL = 1e-6
STEPS, SAVE_EVERY = 6, 2


GOLD_OFF = ("reward.weights.accuracy=0",)  # the hash reward alone: every group has reward variance
# self-consistency with SRT's guards: validation every step (greedy on 4 held-out rows), collapse series every log
GUARDED = ("reward=self_consistency", "guards=srt", "guards.early_stopping.eval_steps=1",
           "guards.early_stopping.val_size=4", "guards.early_stopping.patience=100")


def _cmd(delay_s: float, extra: tuple[str, ...] = GOLD_OFF) -> list[str]:
    return [sys.executable, "-m", "rlpost.train", "model=tiny_random", "logger=none", "eval=none", "+debug=cpu_smoke",
            f"trainer.max_steps={STEPS}", "trainer.save_strategy=steps", f"trainer.save_steps={SAVE_EVERY}",
            "+reward.funcs.hash._target_=rlpost.testing.HashReward", f"+reward.funcs.hash.delay_s={delay_s}",
            "+reward.weights.hash=1.0", *extra]


def _env(run_dir: Path) -> dict[str, str]:
    env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), "PYTHONPATH": str(ROOT / "src")}
    env.pop("RANK", None)
    return env


def _run(run_dir: Path, delay_s: float, extra: tuple[str, ...] = GOLD_OFF) -> subprocess.CompletedProcess:
    out = subprocess.run(_cmd(delay_s, extra), env=_env(run_dir), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _weights(run_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(run_dir / "final" / "model.safetensors")


def _kill_after_first_commit(run_dir: Path, delay_s: float, extra: tuple[str, ...] = GOLD_OFF) -> None:
    proc = subprocess.Popen(_cmd(delay_s, extra), env=_env(run_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    marker = run_dir / "checkpoints" / f"checkpoint-{SAVE_EVERY}" / "rlpost_complete.json"
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the run never committed a checkpoint"
    assert not (run_dir / "final").exists(), "the run finished before it was killed"


@pytest.mark.integration
def test_sigkill_then_rerun_matches_uninterrupted_run(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    _run(reference, delay_s=0.0)
    _kill_after_first_commit(resumed, delay_s=1.0)
    committed = resumed / "checkpoints" / f"checkpoint-{SAVE_EVERY}"
    at_kill = load_file(committed / "model.safetensors")
    # a save killed half-way: HF's files, trainer_state.json included, but no commit marker
    half = resumed / "checkpoints" / f"checkpoint-{2 * SAVE_EVERY}"
    shutil.rmtree(half, ignore_errors=True)
    shutil.copytree(committed, half)
    (half / "rlpost_complete.json").unlink()
    (half / "optimizer.pt").write_bytes(b"truncated")
    out = _run(resumed, delay_s=0.0)
    assert f"resuming from {committed}" in out.stdout + out.stderr
    ref, final = _weights(reference), _weights(resumed)
    assert any(not torch.equal(at_kill[n], final[n]) for n in final), "no training happened after the resume"
    for name, value in ref.items():
        assert torch.allclose(value, final[name], atol=ATOL, rtol=0), f"{name} differs from the uninterrupted run"


def _guard_state(checkpoint: Path) -> tuple[dict, dict]:
    import json

    return (json.loads((checkpoint / "rlpost_early_stopping.json").read_text()),
            json.loads((checkpoint / "rlpost_collapse.json").read_text()))


@pytest.mark.integration
def test_sigkill_with_guards_resumes_the_guard_state(tmp_path: Path) -> None:
    """guards=srt: the resumed run has the validation history, best step, best weights and collapse series of an
    uninterrupted run; checkpoints are ranked by validation, never by the self-consistency reward."""
    import json

    import torch
    from safetensors.torch import load_file

    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    _run(reference, delay_s=0.0, extra=GUARDED)
    _kill_after_first_commit(resumed, delay_s=1.0, extra=GUARDED)
    committed = resumed / "checkpoints" / f"checkpoint-{SAVE_EVERY}"
    out = _run(resumed, delay_s=0.0, extra=GUARDED)
    assert f"resuming from {committed}" in out.stdout + out.stderr
    ref_report = json.loads((reference / "guards" / "early_stopping.json").read_text())
    report = json.loads((resumed / "guards" / "early_stopping.json").read_text())
    assert [step for step, _ in ref_report["history"]] == list(range(STEPS + 1))  # before training, every step
    assert report["history"] == ref_report["history"]
    assert report["best_step"] == ref_report["best_step"] and report["restored_best"]
    last = f"checkpoints/checkpoint-{STEPS}"
    ref_early, ref_collapse = _guard_state(reference / last)
    early, collapse = _guard_state(resumed / last)
    assert ref_collapse["series"]["self_consistency/majority_share"]  # logged from step 1 (before the kill) on
    assert collapse == ref_collapse
    assert early == ref_early
    # the best weights restored at the end come from the same step in both runs
    ref, final = _weights(reference), _weights(resumed)
    for name, value in ref.items():
        assert torch.allclose(value, final[name], atol=ATOL, rtol=0), f"{name} differs from the uninterrupted run"
    before = load_file(reference / "checkpoints" / f"checkpoint-{STEPS - SAVE_EVERY}" / "model.safetensors")
    trained = load_file(reference / last / "model.safetensors")
    assert any(not torch.equal(trained[n], before[n]) for n in before), "training never moved the weights"
    marker = json.loads((reference / last / "rlpost_complete.json").read_text())
    assert marker["metric"] == "validation_accuracy"
    assert marker["value"] == dict(map(tuple, ref_report["history"]))[STEPS]
