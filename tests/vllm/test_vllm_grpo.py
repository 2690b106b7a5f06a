"""GRPO with vLLM colocate on CPU: the sync is exact, LoRA syncs adapter-only, a skipped sync stops the run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import pipeline_cfg

pytestmark = [pytest.mark.vllm, pytest.mark.integration]

PARAM = "model.layers.0.mlp.down_proj.weight"


def _cfg(tmp_path, model_dir, extra=()):
    return pipeline_cfg("grpo", ["model=hf", f"model.path={model_dir}", "logger=none", "+debug=cpu_smoke",
                                 "reward.funcs.accuracy._target_=rlpost.testing.DigitFractionReward",
                                 "~reward.funcs.accuracy.answer_format", "trainer.learning_rate=1e-2",
                                 "rollout=vllm_colocate", "rollout.vllm_max_model_len=256", "eval=none",
                                 # CPU's defaults; explicit so that CUDA runs (bench/vllm_gpu_check.sh) compare fp32
                                 "rollout.vllm_dtype=float32", "rollout.gpu_memory_utilization=0.1",
                                 "trainer.warmup_steps=0", *extra],
                        tmp_path)


def _engine_param(gen):
    """PARAM inside the vLLM engine (with LoRA enabled vLLM wraps the layer: ``...down_proj.base_layer.weight``)."""
    model = gen.llm.llm_engine.model_executor.driver_worker.model_runner.model
    stem = PARAM.removesuffix(".weight")
    return next(p for n, p in model.named_parameters() if n.startswith(stem) and n.endswith(".weight")).detach()


def _spy_syncs(monkeypatch, record):
    """Record, after every sync, the engine's copy of PARAM and the trainer's (the weights TRL just pushed)."""
    from rlpost.methods.grpo import vllm_sync

    real = vllm_sync.generation_class

    def spying_class(settings):
        cls = real(settings)

        class Spy(cls):
            def sync_weights(self):
                super().sync_weights()
                trainer_params = dict(self.accelerator.unwrap_model(self.model).named_parameters())
                record.append(self.recorded(trainer_params))

            def recorded(self, trainer_params):
                if self.rlpost_settings.adapter_only:
                    return {"adapter": self.lora_request.lora_path, "id": self.lora_request.lora_int_id}
                engine = _engine_param(self).clone()
                return {"engine": engine, "trainer": trainer_params[PARAM].detach().clone()}

        return Spy

    monkeypatch.setattr(vllm_sync, "generation_class", spying_class)


def test_colocate_sync_is_exact_and_logprobs_agree(tmp_path, vllm_model_dir, monkeypatch):
    from rlpost.methods.grpo.pipeline import run

    record = []
    _spy_syncs(monkeypatch, record)
    run(_cfg(tmp_path, vllm_model_dir))
    assert len(record) == 2  # one sync before each step's generation
    for r in record:  # the engine holds exactly the trainer's weights after each sync
        assert r["engine"].shape == r["trainer"].shape and (r["engine"] == r["trainer"]).all()
    assert not (record[0]["engine"] == record[1]["engine"]).all(), "step 1 did not change the synced weight"
    logs = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "loss" in h]
    # vLLM's sampling log-probs vs the trainer's recomputation, every rollout token (fp32 both sides)
    assert len(logs) == 2 and all(h["sampling/sampling_logp_difference/max"] < 1e-3 for h in logs), logs


def test_lora_syncs_only_the_adapter_and_rollouts_use_the_step_k_adapter(tmp_path, vllm_model_dir, monkeypatch):
    from rlpost.methods.grpo import vllm_sync
    from rlpost.methods.grpo.pipeline import run

    record = []
    real = vllm_sync.generation_class

    def spying_class(settings):
        class Spy(real(settings)):
            def sync_weights(self):
                super().sync_weights()
                ids, n = vllm_sync.probe_ids(self.processing_class)
                model = self.accelerator.unwrap_model(self.model)
                record.append({"request": (self.lora_request.lora_int_id, self.lora_request.lora_path),
                               "engine": self.engine_probe_logprobs(ids, n),
                               "trainer": vllm_sync.trainer_probe_logprobs(model, ids, n),
                               "base": _engine_param(self).clone()})

        return Spy

    monkeypatch.setattr(vllm_sync, "generation_class", spying_class)
    run(_cfg(tmp_path, vllm_model_dir, ["peft=lora", "peft.config.target_modules=[q_proj,v_proj]",
                                        "peft.config.lora_dropout=0.0"]))
    assert [r["request"][0] for r in record] == [1, 2]  # a new adapter version under a new id at each sync
    assert all("vllm_adapters/rank0/v" in r["request"][1] for r in record)
    for r in record:  # the engine samples from the trainer's current adapter (HF + peft), token for token
        assert r["engine"] == pytest.approx(r["trainer"], abs=1e-4)
    assert max(abs(a - b) for a, b in zip(record[0]["engine"], record[1]["engine"], strict=True)) > 1e-3
    assert (record[0]["base"] == record[1]["base"]).all()  # base weights never pushed


def test_staleness_check_stops_a_run_whose_sync_is_skipped(tmp_path, vllm_model_dir, monkeypatch):
    from trl.generation.vllm_generation import VLLMGeneration

    from rlpost.methods.grpo.pipeline import run
    from rlpost.methods.grpo.vllm_sync import StaleEngineError

    monkeypatch.setattr(VLLMGeneration, "sync_weights", lambda self: None)  # the engine keeps the initial weights
    with pytest.raises(StaleEngineError, match=r"stale at step 1: .* Last verified sync: step 0") as err:
        run(_cfg(tmp_path, vllm_model_dir, ["rollout.staleness_tol=1e-3"]))
    assert "\n" not in str(err.value)


def test_offline_pseudo_labels_are_voted_by_the_vllm_engine_before_colocate_training(tmp_path, vllm_model_dir,
                                                                                       monkeypatch):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.rollout import vllm_engine

    calls = []
    real = vllm_engine.VLLMEngine.generate

    def spy(self, prompts, params, samples=None):
        calls.append((len(prompts), params.n))
        return real(self, prompts, params, samples)

    monkeypatch.setattr(vllm_engine.VLLMEngine, "generate", spy)
    run(_cfg(tmp_path, vllm_model_dir, ["guards=offline_labels", "guards.base_labels.max_rows=4",
                                        "guards.base_labels.n=2",
                                        "sampling.max_new_tokens=4"]))
    assert calls and calls[0] == (4, 2), calls
    assert json.loads((tmp_path / "guards" / "base_labels.json").read_text())["rows"] == 4


def test_grpo_evaluations_follow_rollout_vllm_and_match_the_hf_engine(tmp_path, vllm_model_dir, monkeypatch):
    """rollout=vllm: the before/after held-out evaluations generate with rlpost's vLLM engine and give the HF
    engine's greedy answers on the same weights (the base model before, final/ after)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rlpost.data.build import build_datasets
    from rlpost.eval.tasks import math_qa
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    engines = []
    real_build = math_qa.build_engine

    def spy_build(*args, **kwargs):
        engine = real_build(*args, **kwargs)
        engines.append(type(engine).__name__)
        return engine

    monkeypatch.setattr(math_qa, "build_engine", spy_build)
    cfg = _cfg(tmp_path, vllm_model_dir, ["eval=math_qa", "eval.k=1", "eval.sampling.max_new_tokens=6",
                                          "eval.autocast_dtype=null", "trainer.max_steps=1"])
    results = run(cfg)
    assert set(results) >= {"before", "after"} and engines == ["VLLMEngine", "VLLMEngine"]
    monkeypatch.setattr(math_qa, "build_engine", real_build)
    _, eval_ds = build_datasets(cfg.data, cfg.seed)
    template = instantiate(cfg.data.template)
    for stage, path in (("before", str(vllm_model_dir)), ("after", str(tmp_path / "final"))):
        model, tok = load_policy(OmegaConf.create({"path": path}), for_training=False)
        math_qa.evaluate_model(model, tok, eval_ds, template, cfg.eval, tmp_path / f"hf_{stage}", cfg.seed)
        hf = [json.loads(x) for x in (tmp_path / f"hf_{stage}" / "samples.jsonl").read_text().splitlines()]
        vl = [json.loads(x) for x in (tmp_path / f"eval_{stage}" / "samples.jsonl").read_text().splitlines()]
        assert [r["greedy"] for r in vl] == [r["greedy"] for r in hf], stage
