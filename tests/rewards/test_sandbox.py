"""Checker code from data runs in a guarded child process: hangs, crashes, escapes and non-bools score 0."""

from __future__ import annotations

import time

import pytest

from rlpost.errors import ConfigError
from rlpost.rewards.instruction_following.sandbox import CheckerCall, CheckerSandbox

OK = "def check_following(instruction, response):\n    return ',' not in response\n"
LOOP = "def check_following(instruction, response):\n    while True:\n        pass\n"
RAISE = "def check_following(instruction, response):\n    raise RuntimeError('boom')\n"
READ_OUTSIDE = "def check_following(instruction, response):\n    return 'root' in open('/etc/passwd').read()\n"
NOT_BOOL = "def check_following(instruction, response):\n    return 1\n"
# ignores the per-call timer, so only the parent's kill can stop it
DEAF_LOOP = ("import signal\ndef check_following(instruction, response):\n"
             "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n")


@pytest.fixture(scope="module")
def sandbox():
    return CheckerSandbox(timeout_s=1.0, memory_mb=512)


def test_bad_checkers_get_an_error_and_do_not_stop_the_batch(sandbox):
    codes = [OK, LOOP, RAISE, READ_OUTSIDE, NOT_BOOL, OK]
    start = time.monotonic()
    results = sandbox.run([CheckerCall(code, "no commas here") for code in codes])
    assert time.monotonic() - start < 20
    assert [r.value for r in results] == [True, None, None, None, None, True]
    assert results[1].error == "timed out after 1 s"
    assert results[2].error == "RuntimeError: boom (line 2)"
    assert "outside the scratch folder" in results[3].error and "/etc/passwd" in results[3].error
    assert results[4].error == "check_following returned int, not bool"
    assert not any(r.passed for r in results[1:5])


def test_a_hang_the_timer_cannot_stop_is_killed_and_the_rest_still_run(sandbox):
    results = sandbox.run([CheckerCall(OK, "a"), CheckerCall(DEAF_LOOP, "a"), CheckerCall(OK, "a, b")])
    assert [r.value for r in results] == [True, None, False]
    assert "killed after 1 s" in results[1].error


def test_scratch_folder_is_writable_network_subprocess_and_exit_are_contained(sandbox):
    codes = {
        "scratch": ("def check_following(i, r):\n    open('x.txt', 'w').write(r)\n"
                    "    return open('x.txt').read() == r\n"),
        "socket": ("import socket\ndef check_following(i, r):\n"
                   "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n    return True\n"),
        "subprocess": "import subprocess\ndef check_following(i, r):\n    subprocess.run(['ls'])\n    return True\n",
        "memory": "def check_following(i, r):\n    x = 'a' * (2 << 30)\n    return True\n",
        "exit": "import os\ndef check_following(i, r):\n    os._exit(3)\n",
        "one_arg": "def check_following(response):\n    return response == 'hi'\n",
        "syntax": "def check_following(:\n",
    }
    results = dict(zip(codes, sandbox.run([CheckerCall(c, "hi") for c in codes.values()]), strict=True))
    assert results["scratch"].value is True
    assert "socket" in results["socket"].error and "not allowed" in results["socket"].error
    assert "subprocess.Popen is not allowed" in results["subprocess"].error
    assert results["memory"].error == "memory limit exceeded"
    assert results["exit"].error == "checker process died (exit code 3)"
    assert results["one_arg"].value is True  # check_following(response) is accepted too
    assert results["syntax"].error.startswith("SyntaxError")


def test_limits_are_validated():
    with pytest.raises(ConfigError, match="timeout_s=0"):
        CheckerSandbox(timeout_s=0)
