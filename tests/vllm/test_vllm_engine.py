"""rlpost's vLLM engine gives the HF engine's outputs (same conventions) on the tiny model, fp32, on CPU."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from rlpost.rollout.sampling import SamplingSettings

pytestmark = [pytest.mark.vllm, pytest.mark.integration]

PROMPTS = [[{"role": "user", "content": q}] for q in ("What is 2 + 3?", "Name a colour.", "7 * 8 =", "Hi")]


@pytest.fixture(scope="module")
def engines(vllm_model_dir):
    from rlpost.rollout.hf import HFEngine
    from rlpost.rollout.vllm_engine import VLLMEngine
    from rlpost.runtime.model import load_policy

    model, tok = load_policy(OmegaConf.create({"path": str(vllm_model_dir)}), for_training=False)
    model.eval()
    hf = HFEngine(model, tok, autocast_dtype=None, show_progress=False)
    # fp32 is CPU's default; explicit so that CUDA runs (bench/vllm_gpu_check.sh) compare fp32 too
    cfg = OmegaConf.create({"use_vllm": True, "vllm_max_model_len": 256, "vllm_dtype": "float32",
                            "gpu_memory_utilization": 0.1})
    vl = VLLMEngine.from_model(model, tok, cfg)
    return hf, vl


def test_greedy_outputs_and_logprobs_equal_the_hf_engine(engines):
    hf, vl = engines
    params = SamplingSettings(greedy=True, max_new_tokens=12, logprobs=True)
    a, b = hf.generate(PROMPTS, params), vl.generate(PROMPTS, params)
    assert [g.completions for g in a] == [g.completions for g in b]
    assert [g.lengths for g in a] == [g.lengths for g in b]
    assert all(ln == 12 for g in b for ln in g.lengths)  # the random model never stops: full length, no stop token
    for ga, gb in zip(a, b, strict=True):
        assert gb.logprobs[0] == pytest.approx(ga.logprobs[0], abs=1e-3)


def test_sampling_keeps_settings_and_seed_semantics(engines):
    _, vl = engines
    params = SamplingSettings(temperature=0.8, max_new_tokens=6, n=3, seed=1, logprobs=True)
    first, again = vl.generate(PROMPTS, params), vl.generate(PROMPTS, params)
    other = vl.generate(PROMPTS, SamplingSettings(temperature=0.8, max_new_tokens=6, n=3, seed=2, logprobs=True))
    assert [g.completions for g in first] == [g.completions for g in again]  # same seed, same samples
    assert [g.completions for g in first] != [g.completions for g in other]
    assert all(len(g.completions) == 3 and max(g.lengths) <= 6 for g in first)
    assert all(lp < 0 and math.isfinite(lp) for g in first for lp in g.logprobs)


def test_rlpost_eval_with_vllm_gives_the_hf_engine_greedy_answers(tmp_path, vllm_model_dir):
    import json
    import os
    import subprocess
    import sys

    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(4)))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR",
                                                             "MASTER_PORT")}
    greedy = {}
    for engine in ("hf", "vllm"):
        run = tmp_path / engine
        proc = subprocess.run(
            [sys.executable, "-m", "rlpost.evaluate", "model=hf", f"model.path={vllm_model_dir}", f"data.path={data}",
             f"rollout={engine}", "eval.k=2", "eval.sampling.max_new_tokens=6", "eval.autocast_dtype=null",
             "rollout.vllm_max_model_len=256"],
            capture_output=True, text=True, env={**env, "RLPOST_RUN_DIR": str(run)}, timeout=300, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads((run / "metrics.json").read_text())["n_questions"] == 4
        greedy[engine] = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    keys = [k for k in greedy["hf"][0] if "greedy" in k]
    assert keys, greedy["hf"][0].keys()
    assert [[r[k] for k in keys] for r in greedy["vllm"]] == [[r[k] for k in keys] for r in greedy["hf"]]


def test_seeded_sampling_of_a_batch_larger_than_one_scheduler_step(engines):
    """Regression: with per-request seeds, vLLM's chunked prefill rewinds each seeded generator's offset, which CPU
    generators do not support ("CPU Generator does not use offset"); rlpost-eval on SmolLM2 crashed on it."""
    _, vl = engines
    prompts = [[{"role": "user", "content": f"{i} " + "count the letters in this sentence please " * 5}]
               for i in range(48)]  # ~48 x 220 byte tokens: more than one prefill step's token budget
    params = SamplingSettings(temperature=1.0, max_new_tokens=4, n=2, seed=3)
    first, again = vl.generate(prompts, params), vl.generate(prompts, params)
    assert [g.completions for g in first] == [g.completions for g in again]
    assert all(len(g.completions) == 2 for g in first)
