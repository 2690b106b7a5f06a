"""Disaggregated vLLM server on 127.0.0.1 (launch/vllm_server.sh): LoRA adapters reach it through a directory,
every request is bounded, bad setups are one line, and a skipped sync is caught by the staleness check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, pipeline_cfg

pytestmark = [pytest.mark.vllm, pytest.mark.integration]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(vllm_model_dir, tmp_path_factory):
    from rlpost.rollout.vllm_server import VLLMServerClient

    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "PYTHON": sys.executable, "VLLM_CPU_OMP_THREADS_BIND": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ROOT / "launch" / "vllm_server.sh"), str(vllm_model_dir), str(port),
                                 "--max-model-len", "256", "--dtype", "float32", "--gpu-memory-utilization", "0.1"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    client = VLLMServerClient(f"http://127.0.0.1:{port}", timeout_s=60)
    try:
        client.wait_healthy(startup_timeout_s=240)
        yield client
    except Exception:
        print(log.read_text()[-3000:])
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _cfg(tmp_path, model_dir, url, extra=()):
    return pipeline_cfg("grpo", ["model=hf", f"model.path={model_dir}", "logger=none", "+debug=cpu_smoke",
                                 "reward.funcs.accuracy._target_=rlpost.testing.DigitFractionReward",
                                 "~reward.funcs.accuracy.answer_format", "trainer.learning_rate=1e-2",
                                 "trainer.warmup_steps=0", "rollout=vllm_server", f"rollout.server_url={url}",
                                 f"rollout.adapter_dir={tmp_path / 'adapters'}", "peft=lora",
                                 "peft.config.target_modules=[q_proj,v_proj]", "peft.config.lora_dropout=0.0",
                                 "eval=none", *extra], tmp_path)


def test_server_lora_grpo_samples_the_current_adapter(tmp_path, vllm_model_dir, server):
    from rlpost.methods.grpo.pipeline import run

    run(_cfg(tmp_path, vllm_model_dir, server.base_url))
    served = [m["id"] for m in server.models()]
    assert "rlpost-policy-v2" in served and "rlpost-policy-v1" not in served  # new version loaded, old unloaded
    logs = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "loss" in h]
    # the server's sampling log-probs equal the trainer's recomputation: it sampled the trainer's current adapter
    assert len(logs) == 2 and all(h["sampling/sampling_logp_difference/max"] < 1e-3 for h in logs), logs


def test_staleness_check_fires_when_the_adapter_never_reaches_the_server(tmp_path, vllm_model_dir, server,
                                                                         monkeypatch):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.methods.grpo.vllm_sync import StaleEngineError
    from rlpost.rollout.vllm_server import VLLMServerClient

    loaded = []
    monkeypatch.setattr(VLLMServerClient, "load_adapter", lambda self, name, path: loaded.append(name))
    monkeypatch.setattr(VLLMServerClient, "unload_adapter", lambda self, name: None)
    monkeypatch.setattr(VLLMServerClient, "prompt_logprobs", _base_policy(VLLMServerClient.prompt_logprobs))
    monkeypatch.setattr(VLLMServerClient, "complete", _base_policy(VLLMServerClient.complete))
    with pytest.raises(StaleEngineError, match=r"stale at step 1: .* Last verified sync: step 0"):
        run(_cfg(tmp_path, vllm_model_dir, server.base_url, ["rollout.staleness_tol=1e-3"]))
    assert loaded == ["rlpost-policy-v1", "rlpost-policy-v2"]


def _base_policy(method):
    """The request as it would go to a server that never got the adapter: it samples the base model."""
    def call(self, model, *args, **kwargs):
        return method(self, self.models()[0]["id"], *args, **kwargs)
    return call


def test_bad_server_setups_are_one_line_errors(tmp_path, vllm_model_dir, server):
    from rlpost.rollout.vllm_server import ServerError, VLLMServerClient

    with pytest.raises(ServerError, match=r"serves \[.*\], but the trainer trains /other/model \(model.path\)"):
        server.check_model("/other/model")
    with pytest.raises(ServerError, match=r"could not load the adapter in /no/such/adapter \(rollout.adapter_dir"):
        server.load_adapter("x", "/no/such/adapter")
    dead = VLLMServerClient(f"http://127.0.0.1:{_free_port()}", timeout_s=2)
    start = time.monotonic()
    with pytest.raises(ServerError, match=r"not healthy after 3 s .* is unreachable") as err:
        dead.wait_healthy(startup_timeout_s=3, poll_s=0.5)
    assert time.monotonic() - start < 10 and "\n" not in str(err.value)


def test_cli_unreachable_server_is_one_line(tmp_path, vllm_model_dir):
    # in-process colocate runs (TRL) leave RANK/MASTER_PORT... in os.environ: a fresh CLI must not inherit them
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR",
                                                             "MASTER_PORT")}
    env["RLPOST_RUN_DIR"] = str(tmp_path / "run")
    proc = subprocess.run(
        [sys.executable, "-m", "rlpost.train", "model=hf", f"model.path={vllm_model_dir}", "logger=none",
         "+debug=cpu_smoke", "eval=none", "rollout=vllm_server", "peft=lora",
         f"rollout.server_url=http://127.0.0.1:{_free_port()}", "rollout.server_startup_timeout_s=3"],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert "not healthy after 3 s" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
