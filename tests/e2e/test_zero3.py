"""ZeRO-3 helpers that need no second process: pass-through without DeepSpeed, whole generation-only models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from rlpost.runtime.zero3 import full_parameters, partitioned_parameters

ROOT = Path(__file__).resolve().parents[2]

LOAD_UNDER_ZERO3 = """
import sys
from omegaconf import OmegaConf
from transformers.integrations import HfDeepSpeedConfig
from rlpost.runtime.model import load_policy
from rlpost.runtime.zero3 import partitioned_parameters

ds = HfDeepSpeedConfig({"zero_optimization": {"stage": 3}, "train_micro_batch_size_per_gpu": 1})
model, _ = load_policy(OmegaConf.create({"path": sys.argv[1]}), for_training=False)
print("partitioned", len(partitioned_parameters(model)), tuple(model.get_input_embeddings().weight.shape))
"""


def test_full_parameters_leaves_a_plain_model_alone() -> None:
    model = torch.nn.Linear(2, 2)
    with full_parameters(model, modify=True) as inside:
        assert inside is model and partitioned_parameters(model) == []


def test_generation_models_load_whole_under_a_zero3_config(tiny_model_dir: Path) -> None:
    """DivPO generates on rank 0 alone: a model partitioned by ``deepspeed.zero.Init`` could not run there."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DS_ACCELERATOR": "cpu", "RANK": "0", "LOCAL_RANK": "0",
           "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29561"}
    out = subprocess.run([sys.executable, "-c", LOAD_UNDER_ZERO3, str(tiny_model_dir)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    hidden = __import__("json").loads((tiny_model_dir / "config.json").read_text())["hidden_size"]
    assert out.stdout.strip().splitlines()[-1].startswith("partitioned 0 (")
    assert out.stdout.strip().endswith(f", {hidden})")
