"""The dtype rule (src/rlpost/runtime/hardware.py) on each kind of hardware, with the capability probes mocked."""

from __future__ import annotations

import logging

import pytest
from omegaconf import OmegaConf

import rlpost.runtime.hardware as hw
from rlpost.errors import ConfigError

torch = pytest.importorskip("torch")

# name -> (torch CPU capability, AVX-512-BF16 flag, AMX flag, platform.machine())
CPUS = {
    "avx512_bf16": ("AVX512", True, False, "x86_64"),  # AMD Zen 4, Intel Cooper Lake
    "amx": ("AVX512", False, True, "x86_64"),  # Intel Sapphire Rapids
    "avx512_no_bf16": ("AVX512", False, False, "x86_64"),  # Intel Skylake-X / Ice Lake
    "avx2": ("AVX2", False, False, "x86_64"),  # most laptops, many servers
    # an AVX-512-BF16 CPU run as AVX2 (ATEN_CPU_CAPABILITY=avx2): torch's kernels do not use bf16 instructions
    "avx2_forced": ("AVX2", True, False, "x86_64"),
    "arm": ("DEFAULT", False, False, "aarch64"),
}


@pytest.fixture
def hardware(monkeypatch):
    """``hardware(cpu, cuda=None|True|False, probe=False)``: pretend to run on that CPU (and a GPU with or without
    bf16; None = no GPU)."""

    def set_hardware(cpu: str, cuda: bool | None = None, probe: bool = False) -> None:
        cap, avx512_bf16, amx, machine = CPUS[cpu]
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: cap)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
        monkeypatch.setattr(hw.platform, "machine", lambda: machine)
        monkeypatch.setattr(hw, "bf16_probe_faster", lambda: probe)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda is not None)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bool(cuda))
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "A100" if cuda else "Tesla T4")

    return set_hardware


@pytest.mark.parametrize(("cpu", "probe", "expected"), [
    ("avx512_bf16", False, "bfloat16"),
    ("amx", False, "bfloat16"),
    ("avx512_no_bf16", True, "float32"),  # x86 without bf16 instructions: no probe, fp32
    ("avx2", True, "float32"),
    ("avx2_forced", False, "float32"),
    ("arm", True, "bfloat16"),  # torch reports no flag on ARM: the probe decides
    ("arm", False, "float32"),
])
def test_auto_on_cpu_uses_bf16_only_where_it_is_fast(hardware, cpu, probe, expected):
    hardware(cpu, probe=probe)
    assert hw.resolve_dtype("auto", device_type="cpu", key="eval.autocast_dtype") == expected
    assert hw.has_native_bf16("cpu") == (cpu in ("avx512_bf16", "amx"))


@pytest.mark.parametrize(("cuda", "expected"), [(True, "bfloat16"), (False, "float16")])
def test_auto_on_cuda_is_bf16_where_supported_else_fp16(hardware, cuda, expected):
    hardware("avx2", cuda=cuda)
    assert hw.resolve_dtype("auto", device_type="cuda", key="eval.autocast_dtype") == expected
    assert hw.has_native_bf16("cuda") is cuda


def test_forced_bf16_on_a_gpu_without_bf16_is_a_one_line_error_naming_the_key(hardware):
    hardware("avx2", cuda=False)
    with pytest.raises(ConfigError, match=r"^eval.autocast_dtype=bfloat16: this GPU has no bf16") as err:
        hw.resolve_dtype("bfloat16", device_type="cuda", key="eval.autocast_dtype")
    assert "\n" not in str(err.value) and "Tesla T4" in str(err.value)
    assert hw.resolve_dtype("float16", device_type="cuda", key="eval.autocast_dtype") == "float16"


def test_forced_bf16_on_a_cpu_without_it_runs_with_a_warning(hardware, caplog):
    hardware("avx2")
    with caplog.at_level(logging.WARNING, logger="rlpost.runtime.hardware"):
        assert hw.resolve_dtype("bf16", device_type="cpu", key="model.dtype") == "bfloat16"
    assert "model.dtype=bf16: this CPU has no native bf16 (CPU AVX2" in caplog.text and "emulated" in caplog.text


@pytest.mark.parametrize(("requested", "expected"), [
    (None, None), ("null", None), ("float32", "float32"), ("fp16", "float16"), ("torch.bfloat16", "bfloat16"),
    (True, "bfloat16"), (False, "float32"),
])
def test_explicit_values_keep_working(hardware, requested, expected):
    hardware("avx512_bf16")
    assert hw.resolve_dtype(requested, device_type="cpu", key="k") == expected


def test_unknown_dtype_names_the_key():
    with pytest.raises(ConfigError, match=r"trainer.bf16='maybe': unknown dtype"):
        hw.resolve_dtype("maybe", device_type="cpu", key="trainer.bf16")


@pytest.mark.parametrize(("cpu", "cuda", "expected"), [
    ("avx512_bf16", None, {"bf16": True}),
    ("avx2", None, {"bf16": False}),
    ("avx2", True, {"bf16": True}),
    ("avx2", False, {"bf16": False, "fp16": True}),
])
def test_trainer_auto_precision(hardware, cpu, cuda, expected):
    from rlpost.runtime.trl_args import mixed_precision_args

    hardware(cpu, cuda=cuda)
    assert mixed_precision_args(OmegaConf.create({"bf16": "auto"})) == expected


def test_trainer_precision_explicit_values(hardware):
    from rlpost.runtime.trl_args import mixed_precision_args

    hardware("avx2", cuda=False)
    assert mixed_precision_args(OmegaConf.create({"bf16": False})) == {"bf16": False}
    assert mixed_precision_args(OmegaConf.create({"bf16": "auto", "fp16": True})) == {"bf16": False}
    with pytest.raises(ConfigError, match="trainer.bf16=true: this GPU has no bf16"):
        mixed_precision_args(OmegaConf.create({"bf16": True}))
    hardware("avx512_bf16")  # DeepSpeed on CPU runs in fp32 (launch/README.md)
    assert mixed_precision_args(OmegaConf.create({"bf16": "auto", "deepspeed": {"a": 1}})) == {"bf16": False,
                                                                                             "fp16": False}


@pytest.mark.parametrize(("cpu", "bf16"), [("avx2", False), ("avx512_bf16", True)])
def test_default_grpo_trainer_args_follow_the_cpu(hardware, tmp_path, cpu, bf16):
    """Before this rule, trainer.bf16 was hard-coded true: 11x slower on an AVX2 CPU."""
    from rlpost.runtime.trl_args import build_trl_args
    from tests.conftest import pipeline_cfg

    hardware(cpu)
    cfg = pipeline_cfg("grpo", ["model=tiny_random", "logger=none"], tmp_path)
    assert build_trl_args(cfg.trainer).bf16 is bf16


@pytest.mark.parametrize(("cpu", "autocast"), [("avx2", False), ("avx512_bf16", True)])
def test_hf_engine_autocasts_only_where_bf16_is_native(hardware, tiny_model_dir, cpu, autocast):
    """The default eval engine autocast bf16 everywhere; on AVX2 that is emulated and ~11x slower."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.rollout.hf import HFEngine

    hardware(cpu)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    engine = HFEngine(model, AutoTokenizer.from_pretrained(tiny_model_dir), show_progress=False)
    with engine._inference_context():
        assert torch.is_autocast_enabled("cpu") is autocast


@pytest.mark.parametrize(("cpu", "expected"), [("avx2", "float32"), ("avx512_bf16", "bfloat16")])
def test_validate_resolves_and_logs_every_dtype_once(hardware, caplog, cpu, expected):
    from rlpost.config.validate import validate
    from tests.conftest import compose_recipe

    hardware(cpu)
    cfg = compose_recipe("grpo", ["model=tiny_random"])
    with caplog.at_level(logging.INFO, logger="rlpost.config.validate"):
        validate(cfg, cuda_available=False)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("precision")]
    assert len(lines) == 1
    assert f"trainer.bf16=auto -> {expected}" in lines[0] and f"eval.autocast_dtype=auto -> {expected}" in lines[0]
    assert "model.dtype=float32" in lines[0]


def test_validate_rejects_bf16_forced_on_a_gpu_without_it(hardware):
    from rlpost.config.validate import validate
    from tests.conftest import compose_recipe

    hardware("avx2", cuda=False)
    cfg = compose_recipe("grpo", ["model=tiny_random", "eval.autocast_dtype=bfloat16"])
    with pytest.raises(ConfigError, match="eval.autocast_dtype=bfloat16: this GPU has no bf16"):
        validate(cfg)


def test_hardware_facts_record_the_cpu(hardware):
    hardware("avx2")
    facts = hw.hardware_facts()
    assert facts["cpu_capability"] == "AVX2" and facts["cpu_native_bf16"] is False
    assert facts["cpu_auto_dtype"] == "float32" and facts["device"] == "cpu"
    assert {"cpu_model", "threads", "torch"} <= set(facts)


def test_peak_memory_on_a_cuda_machine_that_ran_on_the_cpu_is_the_cpu_figure(monkeypatch):
    """Seen on an H200 (bench/gpu_check.sh): a run that never touched CUDA reported peak_memory_mb = 0.0."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: 0)
    peak = hw.peak_memory()
    assert peak["peak_memory_device"] == "cpu" and peak["peak_memory_mb"] > 0
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)  # CUDA initialised, nothing allocated (seen too)
    assert hw.peak_memory()["peak_memory_device"] == "cpu"
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: 3 * 2**20)
    assert hw.peak_memory() == {"peak_memory_mb": 3.0, "peak_memory_device": "cuda"}
