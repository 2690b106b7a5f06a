"""DeepSpeed-on-CPU runtime setup and DeepSpeed/trainer consistency checks."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rlpost.config.validate import validate_deepspeed
from rlpost.errors import ConfigError
from rlpost.runtime.accelerator import deepspeed_cpu_env, prepare_trainer_runtime


def test_no_deepspeed_needs_no_setup() -> None:
    assert prepare_trainer_runtime(OmegaConf.create({"deepspeed": None})) == {}


def test_single_process_deepspeed_gets_a_one_process_group_env() -> None:
    env = deepspeed_cpu_env({})
    assert env["WORLD_SIZE"] == "1" and env["RANK"] == "0" and env["LOCAL_RANK"] == "0"
    assert env["MASTER_PORT"].isdigit()
    assert deepspeed_cpu_env({"DS_ACCELERATOR": "cuda", "LOCAL_RANK": "0"}) == {"ACCELERATE_USE_DEEPSPEED": "true"}


def _trainer(**ds: object) -> object:
    return OmegaConf.create({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
                             "max_grad_norm": 1.0, "deepspeed": {"train_batch_size": "auto", **ds}})


def test_auto_values_always_pass() -> None:
    validate_deepspeed(_trainer(train_micro_batch_size_per_gpu="auto", gradient_clipping="auto"), world_size=3)
    validate_deepspeed(_trainer(train_batch_size=16, train_micro_batch_size_per_gpu=4), world_size=2)


@pytest.mark.parametrize(("ds", "world", "match"), [
    ({"train_micro_batch_size_per_gpu": 8}, 2, "train_micro_batch_size_per_gpu=8 contradicts "
                                                "trainer.per_device_train_batch_size=4"),
    ({"gradient_accumulation_steps": 1}, 2, "gradient_accumulation_steps=1 contradicts"),
    ({"gradient_clipping": 0.5}, 2, "gradient_clipping=0.5 contradicts trainer.max_grad_norm=1.0"),
    ({"train_batch_size": 16}, 3, "not divisible by the world size"),
    ({"train_batch_size": 24}, 2, r"train_batch_size=24 != .* = 16"),
])
def test_contradicting_deepspeed_keys_name_the_key(ds: dict, world: int, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate_deepspeed(_trainer(**ds), world_size=world)
