"""LoRA SFT killed (SIGKILL) in the middle of a checkpoint save, then the same command re-run: it resumes from the
last committed checkpoint and ends with the adapters, best-AUC state and validation history of an uninterrupted
run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets" / "tallrec"
# fp32 on CPU with the same seed, RNG states (LoRA dropout) and data order restored: expected bit-for-bit, 1e-6
# leaves room for float noise from a different thread count
ATOL = 1e-6
STEPS, SAVE_EVERY = 6, 2

pytestmark = pytest.mark.integration


def _overrides() -> list[str]:
    return ["model=tiny_random", "logger=none", "+debug=sft_smoke", "eval.before=false",
            f"data.splits.train_path={ASSETS / 'train.json'}", f"data.splits.valid_path={ASSETS / 'valid.json'}",
            f"data.splits.test_path={ASSETS / 'test.json'}", "eval.scorer.multi_token=first",
            f"trainer.max_steps={STEPS}", f"trainer.save_steps={SAVE_EVERY}", "trainer.learning_rate=1e-2",
            "eval.callback.patience=3"]


def _run(run_dir: Path, script: list[str], kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), "PYTHONPATH": str(ROOT / "src")}
    env.pop("RANK", None)
    if kill_at is not None:
        env["RLPOST_TEST_KILL_AT_STEP"] = str(kill_at)
    return subprocess.run([sys.executable, *script, "--config-name", "sft", *_overrides()], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def _ok(out: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _adapter(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(path / "adapter_model.safetensors")


def _train_facts(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    sft = metrics["sft"]
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in sft["valid_history"]]
    return {"steps": metrics["train"]["steps"], "best_step": sft["best_step"], "best_valid_auc": sft["best_valid_auc"],
            "history": history}


def _assert_same_adapter(expected: dict, got: dict, what: str) -> None:
    import torch

    assert expected.keys() == got.keys()
    for name, value in expected.items():
        assert torch.allclose(value, got[name], atol=ATOL, rtol=0), f"{what}: {name} differs (uninterrupted run)"


def test_sft_sigkill_mid_save_then_rerun_matches_uninterrupted_run(tmp_path: Path) -> None:
    import torch

    from rlpost.methods.sft.pipeline import run
    from tests.conftest import pipeline_cfg

    train = ["-m", "rlpost.train"]
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    run(pipeline_cfg("sft", _overrides(), reference))  # uninterrupted, in this process (one start-up less)

    killed = _run(resumed, [str(ROOT / "tests" / "e2e" / "_die_during_save.py")], kill_at=2 * SAVE_EVERY)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    ckpts = resumed / "checkpoints"
    committed, half = ckpts / f"checkpoint-{SAVE_EVERY}", ckpts / f"checkpoint-{2 * SAVE_EVERY}"
    assert (committed / "rlpost_complete.json").is_file() and (committed / "rlpost_auc_state.json").is_file()
    assert (half / "adapter_model.safetensors").is_file() and not (half / "rlpost_complete.json").exists()
    assert not (resumed / "metrics.json").exists()
    at_kill = _adapter(committed)

    out = _ok(_run(resumed, train))
    log = out.stdout + out.stderr
    assert f"resuming from {committed}" in log and f"removing incomplete checkpoint {half}" in log
    assert "restored validation AUC state at checkpoint-2" in log
    final = _adapter(resumed / "adapter_last")
    assert any(not torch.equal(at_kill[n], final[n]) for n in final), "no training happened after the resume"
    _assert_same_adapter(_adapter(reference / "adapter_last"), final, "adapter_last")
    _assert_same_adapter(_adapter(reference / "adapter_best"), _adapter(resumed / "adapter_best"), "adapter_best")
    facts = _train_facts(resumed)
    assert facts == _train_facts(reference)  # same best step/AUC, same validation history, same stopping step
    assert facts["history"][-1]["step"] == facts["steps"] > 2 * SAVE_EVERY, "no validation after the resume"
