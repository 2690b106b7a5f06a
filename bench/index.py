"""``bench/results/INDEX.md``: one row per committed result and the README/docs lines that quote it.

A result is a folder ``bench/results/<benchmark>/<tag>/`` holding ``result.json`` (and ``result.md``). The index
is generated (``python -m bench index``) and checked by ``tests/benchmarks/test_bench_index.py``: it fails when the
committed index is stale or when a quoting file names a results path that does not exist.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import RESULTS, ROOT, step_time_ratio

# files whose lines may quote a result: the README, the docs, recipes and configs that cite a measured figure
QUOTING_GLOBS = ("README.md", "bench/README.md", "docs/**/*.md", "recipes/**/*.yaml", "conf/**/*.yaml")
QUOTE = re.compile(r"bench/results/[A-Za-z0-9_.*{},/-]*")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _before_after(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"accuracy {_pct(before['accuracy'])} -> {_pct(after['accuracy'])}"


def _scale(d: dict[str, Any]) -> str:
    return ", ".join(f"{r['setting']} {r['s_per_step_median_after_first']:.1f}" for r in d["results"]
                     if r.get("s_per_step_median_after_first")) + " s/step"


def _self_consistency(d: dict[str, Any]) -> str:
    return ", ".join(f"{r['arm']} {_pct(r['accuracy'])}" for r in d["rows"])


def _divpo(d: dict[str, Any]) -> str:
    return ", ".join(f"{arm} diversity {t['diversity_gain_vs_dpo']:+.0%} vs DPO" for arm, t in d["target"].items())


def _tallrec(d: dict[str, Any]) -> str:
    return "; ".join(f"{task} SFT AUC " + ", ".join(f"n={n} {s['auc_mean']:.3f}" for n, s in t["sft"].items())
                     for task, t in d["tasks"].items() if t["sft"])


def _vllm(d: dict[str, Any]) -> str:
    return f"fastest rollout per batch {d['fastest_rollout_arm_per_batch']}, fastest GRPO {d['fastest_grpo_arm']}"


def _tta(d: dict[str, Any]) -> str:
    """Plain test accuracy at the end of the budget per arm, and its time to plain TRL's final validation accuracy."""
    end = f"{d['settings']['minutes']:g}"
    parts = []
    for arm, a in d["arms"].items():
        t = a.get("time_to_trl_final_min")
        reached = "" if t is None else f" (TRL's acc. at {t:.1f} min)"
        parts.append(f"{arm} {_pct(a['test'][end]['plain'][0])}{reached}")
    return "test plain at end: " + ", ".join(parts)


# benchmark -> the figure its README row leads with
HEADLINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "quickstart": lambda d: f"{d['result']['wall_s'] / 60:.1f} min, {d['result']['steps']} steps, "
                            + _before_after(d["result"]["before"], d["result"]["after"]),
    "grpo_arith": lambda d: "plain " + _before_after(d["before"]["plain"], d["after"]["plain"])
                            + ", word " + _before_after(d["before"]["word"], d["after"]["word"]),
    "ifeval_grpo": lambda d: f"{next(k for k in ('ifeval', 'validation') if k in d)} "
                             + _before_after(*(d[next(k for k in ('ifeval', 'validation') if k in d)][x]
                                               for x in ("before", "after"))),
    "grpo_step": lambda d: f"step time {step_time_ratio(*(r['step_times_s'] for r in d['results'][::-1])):.2f}x "
                           "(median after step 1)",
    "rollout": lambda d: "useful tok/s " + ", ".join(f"{r['dtype']} b{r['batch']} {r['ratio_useful_tok_s']:.2f}x"
                                                     for r in d["results"] if "ratio_useful_tok_s" in r),
    "eval_speed": lambda d: f"questions/s {d['ratio_questions_per_s']:.2f}x",
    "sft_step": lambda d: f"step time {d['ratio']:.2f}x, max loss diff {d['max_loss_diff']:.1e}",
    "scale": _scale,
    "self_consistency": _self_consistency,
    "divpo": _divpo,
    "tallrec": _tallrec,
    "vllm_compare": _vllm,
    "grpo_tta": _tta,
    "gpu_check": lambda d: f"{d['machine']['gpu']}: " + ", ".join(
        f"{t} {v['tests'] - v['failed'] - v['skipped']}/{v['tests']} passed" for t, v in d["tiers"].items()),
}


def result_dirs(results: Path = RESULTS) -> list[Path]:
    """Every ``<benchmark>/<tag>/`` folder with a ``result.json`` or ``result.md``, sorted."""
    return sorted({p.parent for name in ("result.json", "result.md") for p in results.glob(f"*/*/{name}")})


def _machine(data: dict[str, Any]) -> dict[str, Any]:
    """The recorded settings/machine block (its key differs between benchmarks)."""
    for key in ("machine", "environment", "hardware", "settings"):
        block = data.get(key)
        if isinstance(block, dict) and ("cpu_capability" in block or "date" in block):
            return block
    return {}


def describe(result: Path) -> dict[str, str]:
    """Benchmark, tag, date, headline, CPU capability and top-level keys of one result folder."""
    data = json.loads((result / "result.json").read_text()) if (result / "result.json").is_file() else {}
    machine = {**data.get("settings", {}), **_machine(data)} if data else {}
    capability = machine.get("cpu_capability")
    if isinstance(capability, dict):  # older vllm_compare results kept their /proc/cpuinfo flags here
        capability = None
    try:
        headline = HEADLINES[result.parent.name](data) if data else "(markdown only)"
    except (KeyError, TypeError, StopIteration, ZeroDivisionError) as err:
        headline = f"(no headline: {type(err).__name__} {err})"
    return {"benchmark": result.parent.name, "tag": result.name, "date": str(machine.get("date", "not recorded")),
            "headline": headline, "cpu": str(capability or "not recorded"),
            "keys": ", ".join(data) if data else "–"}


def _expand(quote: str) -> list[str]:
    """``a.{json,md}`` -> ``a.json``, ``a.md`` (one brace group level)."""
    parts = re.split(r"\{([^{}]*)\}", quote)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


def _placeholder(quote: str, next_char: str) -> bool:
    """A quote that names no particular result: the folder itself, the index, ``<tag>``, ``NAME/TAG``.

    >>> _placeholder("bench/results/grpo_arith/", "<"), _placeholder("bench/results/scale/TAG/result.md", " ")
    (True, True)
    >>> _placeholder("bench/results/scale/smollm2/result.md", "`")
    False
    """
    parts = quote.split("/")[2:]
    return (quote in ("bench/results", "bench/results/INDEX.md") or next_char == "<"
            or any(p.isupper() and p.isalpha() for p in parts))


def quotes(root: Path = ROOT) -> list[tuple[str, str, list[Path]]]:
    """Every results path quoted by a README/docs line: (``file:line``, the quote, the paths it names)."""
    found = []
    for pattern in QUOTING_GLOBS:
        for path in sorted(root.glob(pattern)):
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                for match in QUOTE.finditer(line):
                    quote = match.group().rstrip(".,/")
                    if _placeholder(quote, line[match.end():match.end() + 1]):
                        continue
                    named = [p for q in _expand(quote) for p in sorted(root.glob(q))]
                    found.append((f"{path.relative_to(root).as_posix()}:{number}", quote, named))
    return found


def missing_quotes(root: Path = ROOT) -> list[str]:
    """``file:line: path`` for every quoted results path (or one of its ``{a,b}`` variants) that names nothing."""
    return [f"{where}: {quote}" for where, quote, _ in quotes(root)
            if not all(any(root.glob(q)) for q in _expand(quote))]


def render(results: Path = RESULTS, root: Path = ROOT) -> str:
    """The text of INDEX.md."""
    quoted = quotes(root)
    lines = ["# Benchmark results", "",
             "Generated by `python -m bench index` (checked by tests/benchmarks/test_bench_index.py); do not edit. "
             "One row per `bench/results/<benchmark>/<tag>/`; *quoted by* lists the README/docs lines that cite it.",
             "",
             "| benchmark | tag | date | headline | CPU capability | keys | quoted by |",
             "|---|---|---|---|---|---|---|"]
    for result in result_dirs(results):
        d = describe(result)
        by = sorted({where for where, _, named in quoted
                     if any(p == result or result in p.parents for p in named)})
        lines.append(f"| {d['benchmark']} | {d['tag']} | {d['date']} | {d['headline']} | {d['cpu']} | {d['keys']} "
                     f"| {', '.join(by) or '–'} |")
    return "\n".join(lines) + "\n"


def write_index(results: Path = RESULTS, root: Path = ROOT) -> str:
    """Write ``<results>/INDEX.md``; a one-line error when a quoted results path does not exist."""
    from rlpost.io import write_text

    if missing := missing_quotes(root):
        raise SystemExit(f"quoted results path(s) that do not exist: {'; '.join(missing)}")
    text = render(results, root)
    write_text(results / "INDEX.md", text)
    return text
