"""SFT and DivPO's DPO stage under ``launch=zero2`` with 2 CPU processes (gloo): every pipeline goes through
``rlpost.runtime.accelerator.prepare_trainer_runtime`` (via ``build_trl_args``), without which DeepSpeed on CPU
sees world size 1 on each rank and rejects the batch geometry (``train_batch_size is not equal to
micro_batch_per_gpu * gradient_acc_step * world_size``).

The run commands and fixed DPO pairs are those of ``test_equivalence.py``. DeepSpeed JIT-compiles its CPU
communication op on first use (cached in ~/.cache/torch_extensions).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.distributed.test_equivalence import COMMON, DPO, SFT, batch_overrides, launch, write_pairs

pytestmark = [pytest.mark.distributed, pytest.mark.integration]
ZERO2 = ["launch=zero2", *batch_overrides(2)]
GLOO = "DeepSpeed on CPU: gloo process group, rank 1 of 2"


def test_sft_zero2_two_cpu_processes(tmp_path: Path, tiny_model_dir: Path) -> None:
    from safetensors.torch import load_file

    run_dir = tmp_path / "run"
    log = launch(run_dir, 2, [*SFT, *COMMON, f"model.path={tiny_model_dir}", *ZERO2])
    assert GLOO in log
    lora_b = [v for k, v in load_file(run_dir / "adapter_last" / "adapter_model.safetensors").items() if "lora_B" in k]
    assert lora_b and max(v.abs().max().item() for v in lora_b) > 0  # LoRA B starts at zero: it was trained


def test_divpo_train_stage_zero2_two_cpu_processes(tmp_path: Path, tiny_model_dir: Path) -> None:
    import json

    from safetensors.torch import load_file

    run_dir = tmp_path / "run"
    write_pairs(run_dir)
    log = launch(run_dir, 2, [*DPO, *COMMON, f"model.path={tiny_model_dir}",
                              f"data.source.path={run_dir / 'prompts.json'}", *ZERO2])
    assert GLOO in log
    assert json.loads((run_dir / "round_0" / "train_stats.json").read_text())["steps"] == 2
    before, after = load_file(tiny_model_dir / "model.safetensors"), load_file(run_dir / "round_0" / "policy" /
                                                                               "model.safetensors")
    assert any(not after[k].equal(before[k]) for k in before), "no weight changed in 2 DPO steps"
