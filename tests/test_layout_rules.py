"""Test tiers by location (docs/ARCHITECTURE.md section 12): only tests/e2e/ (and tests/vllm/) start processes.

tests/conftest.py puts everything under tests/e2e/ and tests/vllm/ in the ``e2e`` tier; a test elsewhere that
starts a subprocess or torchrun would slip into the default suite, so this static check (stdlib ``ast``) fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import E2E_DIRS, ROOT

TORCHRUN = re.compile(r"^(torchrun\b|torch\.distributed\.(run|launch)$)")
PROCESS_MODULES = {"subprocess", "multiprocessing", "torch.multiprocessing"}
OS_SPAWNS = {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp"}


def process_starts(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place the source starts a process or names a launcher."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if a.name in PROCESS_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in PROCESS_MODULES:
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) == ("sys", "executable"):
                found.append((node.lineno, "sys.executable"))
            elif node.value.id == "os" and (node.attr in OS_SPAWNS or node.attr.startswith(("exec", "spawn"))):
                found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and TORCHRUN.match(node.value):
            found.append((node.lineno, repr(node.value)))
    return sorted(found)


def test_checker_sees_each_way_to_start_a_process():
    source = ("import subprocess, sys\nfrom multiprocessing import Process\nimport os\n"
              "def test_x():\n    subprocess.run([sys.executable, '-c', ''])\n    os.system('true')\n"
              "    cmd = ['torchrun', '--nproc_per_node=2', 'train.py']\n    os.execv('/bin/true', [])\n")
    assert [what for _, what in process_starts(source)] == [
        "import subprocess", "from multiprocessing import", "sys.executable", "os.system", "'torchrun'", "os.execv"]
    assert process_starts('"""Docs may say torchrun or subprocess."""\nx = "run subprocess later"\n') == []


def test_only_e2e_tests_start_processes():
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(E2E_DIRS) or path == Path(__file__):
            continue
        found += [f"{rel}:{line} {what}" for line, what in process_starts(path.read_text())]
    assert not found, ("tests outside tests/e2e/ start processes (move them to tests/e2e/, which runs in the e2e "
                       "tier):\n" + "\n".join(found))
