"""What the README points a reader to exists, and its quickstart figures are those of the committed result."""

from __future__ import annotations

import glob
import json
import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
TOP = ("bench/", "conf/", "docs/", "launch/", "recipes/", "src/", "tests/")
QUICKSTART = ROOT / "bench" / "results" / "quickstart" / "avx512" / "result.json"


def test_every_repo_path_the_readme_names_exists():
    """E.g. the README once described a tests/gpu/ folder that did not exist."""
    paths = {p for p in re.findall(r"`([a-z_]+/[^`\s]*)`", README) if p.startswith(TOP)}
    assert "tests/gpu/" in paths
    paths.discard(str(QUICKSTART.relative_to(ROOT)))  # written by `python -m bench speed quickstart`, tested below
    missing = sorted(p for p in paths if not glob.glob(str(ROOT / p)))
    assert not missing, f"README names paths that do not exist: {missing}"


def test_gpu_tests_exist_and_are_marked():
    files = list((ROOT / "tests" / "gpu").glob("test_*.py"))
    assert files and all("pytest.mark.gpu" in f.read_text() for f in files)


def test_quickstart_figures_come_from_the_committed_json():
    if not QUICKSTART.is_file():
        pytest.skip("not measured yet: python -m bench speed quickstart --tag avx512 on an idle machine")
    from bench.report import cpu_text

    data = json.loads(QUICKSTART.read_text())
    r = data["result"]
    minutes, seconds = divmod(round(r["wall_s"]), 60)
    for claim in (f"{minutes} min {seconds} s", f"{r['steps']} steps",
                  f"{100 * r['before']['accuracy']:.1f}% -> {100 * r['after']['accuracy']:.1f}%",
                  cpu_text(data["settings"]), "bench/results/quickstart/avx512/result.json"):
        assert claim in README, f"README's quickstart sentence lacks {claim!r} (from {QUICKSTART.name})"
