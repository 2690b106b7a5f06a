import pytest
from omegaconf import OmegaConf

from rlpost.config.validate import validate
from rlpost.errors import ConfigError


def _cfg(**over):
    cfg = OmegaConf.create(
        {
            "pipeline": "rlpost.methods.grpo.pipeline.run",
            "algo": {"num_generations": 4},
            "trainer": {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1},
            "rollout": {"use_vllm": False},
            "sampling": {"temperature": 0.7},
            "eval": {"kind": "math_qa", "k": 1},
        }
    )
    return OmegaConf.merge(cfg, OmegaConf.create(over))


def test_valid_config_passes():
    validate(_cfg(), world_size=1, cuda_available=False)


@pytest.mark.parametrize(
    ("over", "ws", "key"),
    [
        ({"algo": {"num_generations": 1}}, 1, "algo.num_generations"),
        ({"trainer": {"per_device_train_batch_size": 6}}, 1, "per_device_train_batch_size"),
        ({"trainer": {"per_device_train_batch_size": 2}}, 1, "divisible by algo.num_generations"),
        ({"rollout": {"use_vllm": True, "vllm_mode": "remote"}}, 1, "rollout.vllm_mode='remote'"),
        ({"rollout": {"use_vllm": True, "vllm_mode": "server"}}, 1, "rollout.vllm_mode=server without peft=lora"),
        ({"eval": {"k": 0}}, 1, "eval.k"),
        ({"eval": {"kind": "essays"}}, 1, "eval.kind='essays' is not a task kind"),
        ({"algo": {"skip_zero_advantage": True, "loss_type": "grpo"}}, 1, "algo.skip_zero_advantage=true: loss_type"),
        ({"algo": {"skip_zero_advantage": "yes"}}, 1, "algo.skip_zero_advantage='yes'"),
        ({"algo": {"skip_zero_advantage": True}, "trainer": {"top_entropy_quantile": 0.2}}, 1,
         "algo.skip_zero_advantage=true: top_entropy_quantile=0.2"),
        ({"algo": {"skip_zero_advantage": True}, "trainer": {"router_aux_loss_coef": 0.01}}, 1,
         "algo.skip_zero_advantage=true: the MoE router aux loss"),
    ],
)
def test_invalid_configs_name_the_key(over, ws, key):
    with pytest.raises(ConfigError, match=key):
        validate(_cfg(**over), world_size=ws, cuda_available=False)


def test_world_size_counts_in_batch_geometry():
    validate(_cfg(trainer={"per_device_train_batch_size": 2}), world_size=2, cuda_available=False)


def test_vllm_on_cpu_is_accepted_and_missing_vllm_is_one_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    validate(_cfg(rollout={"use_vllm": True, "vllm_mode": "colocate"}), world_size=1, cuda_available=False)
    validate(_cfg(rollout={"use_vllm": True, "vllm_mode": "server"}, peft={"enabled": True}), world_size=1,
             cuda_available=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(ConfigError, match=r"rollout.use_vllm=true but vLLM is not installed: pip install") as err:
        validate(_cfg(rollout={"use_vllm": True}), world_size=1, cuda_available=False)
    assert "\n" not in str(err.value)


def test_checks_follow_the_pipeline_not_the_keys_present():
    """A DivPO run's config is checked as DivPO even if it carries a GRPO-looking key, and vice versa."""
    divpo = {"pipeline": "rlpost.methods.divpo.pipeline.run", "algo": {"n": 1, "rho": 0.3, "rounds": 1,
                                                                        "diversity": {"_target_": "x"}}}
    with pytest.raises(ConfigError, match="algo.n=1"):
        validate(OmegaConf.create({**divpo, "algo": {**divpo["algo"], "num_generations": 4}}), cuda_available=False)
    grpo = _cfg(algo={"num_generations": 1, "rho": 0.3})  # a rho key does not make it DivPO
    with pytest.raises(ConfigError, match="algo.num_generations=1"):
        validate(grpo, cuda_available=False)
    with pytest.raises(ConfigError, match="pipeline is not set"):
        validate(OmegaConf.create({"algo": {"num_generations": 4}}), cuda_available=False)
    with pytest.raises(ConfigError, match="rlpost.methods.ppo.config"):
        validate(OmegaConf.create({"pipeline": "rlpost.methods.ppo.pipeline.run"}), cuda_available=False)


def test_every_method_supplies_checks_and_smoke_overrides():
    import pkgutil

    import rlpost.methods
    from rlpost.config.validate import method_config

    names = [m.name for m in pkgutil.iter_modules(rlpost.methods.__path__) if m.ispkg]
    assert sorted(names) == ["divpo", "grpo", "sft"]
    for name in names:
        config = method_config(f"rlpost.methods.{name}.pipeline.run")
        assert callable(config.validate) and config.SMOKE and all(o.startswith("+debug=") for o in config.SMOKE)
