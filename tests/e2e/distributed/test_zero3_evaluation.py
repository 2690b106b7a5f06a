"""Evaluation outside the DeepSpeed engine under ZeRO-3 (2 CPU processes, gloo): held-out evaluation before and
after training, and early-stopping validation during training with the best weights restored at the end
(:func:`rlpost.runtime.zero3.full_parameters`).

DeepSpeed JIT-compiles its CPU ops on first use (minutes, cached in ~/.cache/torch_extensions); after that each run
takes about 30 s here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.distributed.test_grpo_distributed import _env

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "rlpost.train"]


def _run(run_dir: Path, cwd: Path, *overrides: str) -> None:
    out = subprocess.run([*TORCHRUN, *overrides], env=_env(run_dir), capture_output=True, text=True, timeout=600,
                         cwd=cwd)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]


@pytest.mark.distributed
def test_zero3_evaluates_before_and_after_training(tmp_path: Path) -> None:
    """The command from the issue, evaluation on (the default): it used to fail at the first evaluation with
    ``AssertionError: Padding_idx must be within num_embeddings`` (a forward on partitioned parameters)."""
    from rlpost.runtime.model import resolve_model_path

    resolve_model_path({"tiny": True})  # build the cached tiny model here, not in two ranks at once
    run_dir = tmp_path / "run"
    _run(run_dir, tmp_path, "model=tiny_random", "launch=zero3", "trainer.max_steps=2")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 2
    for stage in ("before", "after"):  # every held-out row, scored by both ranks together
        assert metrics[stage]["n_questions"] == 200 and metrics[stage]["completion_tokens"] > 0


@pytest.mark.distributed
def test_zero3_early_stopping_validates_and_restores_the_best_weights(tmp_path: Path, tiny_model_dir: Path) -> None:
    import torch
    from safetensors.torch import load_file

    run_dir = tmp_path / "run"
    _run(run_dir, tmp_path, "model=tiny_random", f"model.path={tiny_model_dir}", "launch=zero3", "logger=none",
         "trainer.max_steps=2", "trainer.save_steps=2", "eval=none", "guards=early_stopping",
         "guards.early_stopping.eval_steps=1", "guards.early_stopping.val_size=4",
         "guards.early_stopping.metric=completion_tokens",
         "guards.early_stopping.min_delta=1e9",  # nothing beats step 0: the end restores the step-0 weights
         # every row trained on: per-rank row counts then match in TRL's cross-rank metric gathers
         "algo.skip_zero_advantage=false")
    report = json.loads((run_dir / "guards" / "early_stopping.json").read_text())
    assert [step for step, _ in report["history"]] == [0, 1, 2]
    assert all(value > 0 for _, value in report["history"])  # real generations on whole weights
    assert report["best_step"] == 0 and report["restored_best"]
    initial = load_file(tiny_model_dir / "model.safetensors")
    final = load_file(run_dir / "final" / "model.safetensors")
    assert all(torch.equal(initial[name], final[name]) for name in initial)
    trained = load_file(run_dir / "checkpoints" / "checkpoint-2" / "model.safetensors")
    assert any(not torch.equal(initial[name], trained[name]) for name in initial), "2 steps moved no weight"
