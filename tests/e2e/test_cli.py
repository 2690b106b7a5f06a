"""The CLI as a user runs it: real subprocesses, one-line errors for bad input, outputs in run_dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SMOKE = ["model=tiny_random", "logger=none", "+debug=cpu_smoke"]


def _run(module, args, tmp_path, timeout=300):
    """``python -m module args`` (or ``python module args`` for a script path) in ``tmp_path``."""
    env = {**os.environ, "RLPOST_RUN_DIR": str(tmp_path / "run")}
    env.pop("RLPOST_DEBUG", None)
    cmd = [str(module)] if str(module).endswith(".py") else ["-m", module]
    return subprocess.run(
        [sys.executable, *cmd, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path
    )


def test_train_cli_runs_and_writes_run_dir(tmp_path):
    proc = _run("rlpost.train", SMOKE, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = tmp_path / "run"
    assert (run / ".hydra" / "rank0" / "config.yaml").is_file()
    assert (run / "rank0.log").is_file()
    log = (run / "rank0.log").read_text()
    assert "grpo: 2 steps in " in log and "  before: accuracy " in log and "  after: accuracy " in log
    assert json.loads((run / "metrics.json").read_text())["train"]["steps"] == 2


def test_eval_cli_on_a_data_file(tmp_path, tiny_model_dir):
    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(4)))
    proc = _run(
        "rlpost.evaluate",
        [f"model.path={tiny_model_dir}", f"data.path={data}", "eval.k=2", "eval.sampling.max_new_tokens=4"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_questions"] == 4 and "pass@2" in metrics and "maj@2" in metrics
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["model.path=/no/such/model"], "model.path=/no/such/model"),
        (["data.path=/no/such.jsonl"], "/no/such.jsonl"),
        (["algo.num_generations=1"], "algo.num_generations=1"),
        (["trainer.per_device_train_batch_size=3"], "divisible by algo.num_generations"),
        (["rollout=vllm_server"], "rollout.vllm_mode=server without peft=lora"),
        (["algo.skip_zero_advantage=true", "algo.kl_coef=0.1"], "algo.skip_zero_advantage=true: kl_coef=0.1"),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, needle):
    proc = _run("rlpost.train", [*SMOKE, *args], tmp_path)
    assert proc.returncode != 0
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("arg", ["trainer.bf16=true", "eval.autocast_dtype=bfloat16"])
def test_bf16_forced_on_a_gpu_without_bf16_is_one_line_naming_the_key(tmp_path, arg):
    proc = _run(Path(__file__).with_name("_gpu_without_bf16.py"), [*SMOKE, arg], tmp_path)
    assert proc.returncode == 2
    error = [line for line in proc.stderr.splitlines() if line.startswith("rlpost: error:")]
    assert error == [f"rlpost: error: {arg}: this GPU has no bf16 support (GPU Tesla T4, bf16: "
                     f"no); use {arg.split('=')[0]}=auto (float16 here) or float16"], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_bad_jsonl_line_is_named(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"question": "a", "answer": "1"}\n{oops\n')
    proc = _run("rlpost.evaluate", ["model=tiny_random", f"data.path={data}"], tmp_path)
    assert proc.returncode == 2
    assert "bad.jsonl:2: not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_type_is_rejected_by_the_schema(tmp_path):
    proc = _run("rlpost.train", [*SMOKE, "algo.num_generations=abc"], tmp_path)
    assert proc.returncode != 0
    assert "num_generations" in proc.stderr and "Traceback" not in proc.stderr
