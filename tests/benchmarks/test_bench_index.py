"""bench/index.py: the committed bench/results/INDEX.md is current, and every quoted results path exists."""

from __future__ import annotations

from bench.index import describe, missing_quotes, render
from bench.report import RESULTS, ROOT


def test_committed_index_is_current():
    assert (RESULTS / "INDEX.md").read_text() == render(), "stale: run `python -m bench index`"


def test_readme_and_docs_quote_only_existing_results():
    assert missing_quotes() == []


def test_index_row_of_a_result(tmp_path):
    (tmp_path / "bench" / "results" / "a" / "t1").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "a" / "t1" / "result.md").write_text("table\n")
    (tmp_path / "README.md").write_text("see bench/results/a/t1/result.md, bench/results/a/<tag>/ and "
                                        "bench/results/a/{t1,t2}/result.md\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.md").write_text("\n`bench/results/a/t1/result.json`\n")
    assert missing_quotes(tmp_path) == ["README.md:1: bench/results/a/{t1,t2}/result.md",
                                        "docs/x.md:2: bench/results/a/t1/result.json"]
    assert "| a | t1 | not recorded | (markdown only) | not recorded | – | README.md:1 |" in render(
        tmp_path / "bench" / "results", tmp_path)
    row = describe(RESULTS / "grpo_step" / "engines")
    assert (row["benchmark"], row["tag"], row["date"]) == ("grpo_step", "engines", "2026-11-22 03:04")
    assert row["headline"] == "step time 0.94x (median after step 1)"
    assert "| quickstart | avx512 |" in render() and "| AVX512 |" in render()
    assert "README.md:37" in next(line for line in render(root=ROOT).splitlines() if "| avx512 |" in line)
