"""On a CUDA GPU: the dtype rule against the real device, autocast in the eval engine, a tiny GRPO run.

Marked ``gpu``: ``pytest -m gpu`` runs them; without CUDA they are skipped (tests/conftest.py). They use the tiny
random model, so they need no download and take seconds.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import changed_params, pipeline_cfg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.gpu


def test_auto_dtype_follows_the_gpu():
    from rlpost.errors import ConfigError
    from rlpost.runtime.hardware import has_native_bf16, resolve_dtype

    native = torch.cuda.is_bf16_supported()
    assert has_native_bf16("cuda") is native
    assert resolve_dtype("auto", device_type="cuda", key="k") == ("bfloat16" if native else "float16")
    if not native:
        with pytest.raises(ConfigError, match="k=bfloat16: this GPU has no bf16"):
            resolve_dtype("bfloat16", device_type="cuda", key="k")


def test_eval_engine_autocasts_on_the_gpu(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.rollout.hf import HFEngine
    from rlpost.rollout.sampling import SamplingSettings

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).cuda().eval()
    engine = HFEngine(model, AutoTokenizer.from_pretrained(tiny_model_dir), show_progress=False)
    assert engine.autocast_dtype in ("bfloat16", "float16")
    with engine._inference_context():
        assert torch.is_autocast_enabled("cuda")
    groups = engine.generate([[{"role": "user", "content": "2+3?"}]], SamplingSettings(n=2, max_new_tokens=4, seed=0))
    assert len(groups[0].completions) == 2 and all(0 <= n <= 4 for n in groups[0].lengths)


def test_tiny_grpo_run_on_the_gpu_moves_weights(tmp_path):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = pipeline_cfg("grpo", ["model=tiny_random", "logger=none", "+debug=cpu_smoke", "trainer.bf16=auto",
                                "reward.funcs.accuracy._target_=rlpost.testing.DigitFractionReward",
                                "~reward.funcs.accuracy.answer_format", "trainer.learning_rate=1e-2"], tmp_path)
    before, _ = load_policy(cfg.model)
    results = run(cfg)
    assert results["train"]["steps"] == 2
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed after 2 steps"
    assert "accuracy" in json.loads((tmp_path / "metrics.json").read_text())["after"]
