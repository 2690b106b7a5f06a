"""The multi-node path on one machine: two torchrun "nodes" of one process each, c10d rendezvous on 127.0.0.1,
started through launch/node.sh (what launch/slurm/train.sbatch runs on every node), train as one job: the same
losses as one node with two processes. A node that cannot reach the rendezvous fails within its timeout, one line."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.distributed.test_grpo_distributed import OVERRIDES, ROOT, _env

pytestmark = pytest.mark.distributed


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _losses(run_dir: Path) -> list[float]:
    return [h["loss"] for h in json.loads((run_dir / "log_history.json").read_text()) if "loss" in h]


def test_two_nodes_train_as_one_job(tmp_path: Path, tiny_model_dir: Path) -> None:
    args = ["grpo", "model=tiny_random", f"model.path={tiny_model_dir}", *OVERRIDES]
    two_nodes, one_node = tmp_path / "two_nodes", tmp_path / "one_node"
    endpoint = f"127.0.0.1:{_port()}"
    nodes = [subprocess.Popen([str(ROOT / "launch" / "node.sh"), "2", "1", str(rank), endpoint, "test-job", *args],
                              env={**_env(two_nodes), "RDZV_TIMEOUT": "120"}, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in (0, 1)]
    logs = [p.communicate(timeout=400)[0] for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], "\n".join(log[-3000:] for log in logs)
    assert (two_nodes / "rank0.log").is_file() and (two_nodes / "rank1.log").is_file()
    out = subprocess.run([str(ROOT / "launch" / "torchrun.sh"), "2", *args], env=_env(one_node), cwd=tmp_path,
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    two, one = _losses(two_nodes), _losses(one_node)
    assert len(two) == 2 and two == pytest.approx(one, abs=1e-6), (two, one)


def test_node_that_cannot_reach_the_rendezvous_fails_in_time_with_one_line(tmp_path: Path) -> None:
    start = time.monotonic()
    out = subprocess.run([str(ROOT / "launch" / "node.sh"), "2", "1", "1", f"127.0.0.1:{_port()}", "x", "grpo"],
                         env={**_env(tmp_path / "run"), "RDZV_TIMEOUT": "3"}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1 and time.monotonic() - start < 30
    assert out.stderr.strip().splitlines() == [
        f"launch/node.sh: node 1 could not reach the rendezvous at {out.args[4]} within 3 s (RDZV_TIMEOUT); "
        "is node 0 running?"]
