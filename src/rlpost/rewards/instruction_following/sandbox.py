"""Run checker code that came with the data (VerInstruct's ``check_following``) outside the trainer process.

VerIF (Peng et al. 2025) ships a Python ``check_following(instruction, response) -> bool`` per hard constraint; its
reference trainer ``exec``s that code in-process. rlpost runs it in a child process
(:mod:`rlpost.rewards.instruction_following._sandbox_child`) with a memory limit, a per-call time limit, a fresh
scratch folder per call,
no network where the kernel allows a new network namespace, and a Python audit hook that refuses file access
outside the scratch folder (a Python-level guard, see the child's docstring for what it does and does not stop).

One child serves a whole batch (starting Python per call would dominate a GRPO step); a call that hangs past the
timer, or kills its process, costs a restart, and only that call is marked failed. A checker that raises, hangs,
runs out of memory or returns a non-bool gives ``CheckerResult(value=None, error=...)``: reward 0 for that
constraint, never an exception in the trainer.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlpost.errors import ConfigError

_CHILD = Path(__file__).with_name("_sandbox_child.py")
DEFAULT_PRELOAD = ("re", "json", "string", "math", "collections", "itertools", "unicodedata")


@dataclass(frozen=True)
class CheckerResult:
    """``value`` is the checker's verdict; None with an ``error`` when it could not give one."""

    value: bool | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.value is True


@dataclass(frozen=True)
class CheckerCall:
    """One call: ``check_following(instruction, response)`` defined by ``code``."""

    code: str
    response: str
    instruction: str = ""


class CheckerSandbox:
    """Run checker calls in a guarded child process.

    Args:
        timeout_s: wall-clock limit per call.
        memory_mb: address-space limit of the child process.
        preload: modules imported before the guards go up (checkers may import others from the interpreter's
            library folders, read-only).
        startup_timeout_s: how long the child may take to start.
    """

    def __init__(self, timeout_s: float = 2.0, memory_mb: int = 1024, preload: Sequence[str] = DEFAULT_PRELOAD,
                 startup_timeout_s: float = 30.0) -> None:
        if timeout_s <= 0 or memory_mb < 64:
            raise ConfigError(f"sandbox: timeout_s={timeout_s} must be > 0 and memory_mb={memory_mb} >= 64")
        self.timeout_s, self.memory_mb = float(timeout_s), int(memory_mb)
        self.preload, self.startup_timeout_s = tuple(preload), startup_timeout_s
        self.network_isolated: bool | None = None

    def run(self, calls: Sequence[CheckerCall]) -> list[CheckerResult]:
        """One result per call, in order; restarts the child after a call that hung or killed it."""
        results: list[CheckerResult] = []
        while len(results) < len(calls):
            results += self._run_batch(calls[len(results):])
        return results

    def _run_batch(self, calls: Sequence[CheckerCall]) -> list[CheckerResult]:
        """Results for a prefix of ``calls`` (at least one): stops at the first call that hung or crashed."""
        scratch = tempfile.mkdtemp(prefix="rlpost-checker-")
        cmd = [sys.executable, "-I", str(_CHILD), scratch, str(self.memory_mb), str(self.timeout_s),
               ",".join(self.preload)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=scratch, env={"PATH": "/usr/bin:/bin", "HOME": scratch, "LANG": "C.UTF-8"},
                                text=True, start_new_session=True)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_lines, args=(proc, lines), daemon=True).start()
        threading.Thread(target=_write_calls, args=(proc, calls), daemon=True).start()
        results: list[CheckerResult] = []
        try:
            kind, ready = _next_line(lines, self.startup_timeout_s)
            if ready is None:
                return [CheckerResult(None, f"checker process did not start ({kind}, {_exit_text(proc)})")]
            self.network_isolated = bool(json.loads(ready).get("netns"))
            for _ in calls:
                kind, line = _next_line(lines, self.timeout_s + 2.0)
                if line is None:
                    proc.kill()
                    proc.wait()
                    why = (f"killed after {self.timeout_s:g} s (hung)" if kind == "timeout"
                           else f"checker process died ({_exit_text(proc)})")
                    results.append(CheckerResult(None, why))
                    return results
                out = json.loads(line)
                results.append(CheckerResult(out["value"] if out["ok"] else None, out["error"]))
            return results
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            shutil.rmtree(scratch, ignore_errors=True)


def _read_lines(proc: subprocess.Popen, lines: queue.Queue) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.put(line)
    lines.put(None)


def _write_calls(proc: subprocess.Popen, calls: Sequence[CheckerCall]) -> None:
    try:
        for call in calls:
            proc.stdin.write(json.dumps({"code": call.code, "instruction": call.instruction,  # type: ignore[union-attr]
                                         "response": call.response}) + "\n")
        proc.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, OSError, ValueError):  # the child died or was killed; the reader reports it
        pass


def _next_line(lines: queue.Queue, timeout: float) -> tuple[str, str | None]:
    """``("line", text)``, ``("eof", None)`` when the child closed its output, or ``("timeout", None)``."""
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        return "timeout", None
    return ("eof", None) if line is None else ("line", line)


def _exit_text(proc: subprocess.Popen) -> str:
    code = proc.poll()
    return "still running" if code is None else f"exit code {code}"
