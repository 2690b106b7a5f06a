"""The one runner for benchmarks, from the repo root:

    python -m bench                                          # list the speed benchmarks and the experiments
    python -m bench speed NAME --tag TAG [ARGS...]           # bench/speed/NAME.py in its own process
    python -m bench experiment NAME --tag TAG [ARGS...]      # bench/experiments/NAME.py in its own process
    python -m bench index                                    # write bench/results/INDEX.md
    python -m bench ratios                                   # write bench/results/step_ratios.md

A run writes ``bench/results/NAME/TAG/result.json`` and ``result.md`` (``--out DIR`` elsewhere); work files go to
``bench/runs/NAME/TAG/``. ``python -m bench speed NAME --help`` lists a benchmark's own arguments (bench/README.md).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

SPEED = ("quickstart", "rollout", "eval_speed", "grpo_step", "sft_step", "scale", "vllm_compare")
EXPERIMENTS = ("grpo_arith", "grpo_tta", "ifeval_grpo", "self_consistency", "divpo", "tallrec")
KINDS = {"speed": ("bench.speed", SPEED), "experiment": ("bench.experiments", EXPERIMENTS)}


def listing() -> str:
    """One line per runnable benchmark: kind, name, the first line of its docstring."""
    lines = []
    for kind, (package, names) in KINDS.items():
        for name in names:
            doc = (importlib.import_module(f"{package}.{name}").__doc__ or "").strip().splitlines()
            lines.append(f"{kind:10s} {name:17s} {doc[0] if doc else ''}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(listing())
        return 0
    if argv[0] == "index":
        from bench.index import write_index

        print(write_index())
        return 0
    if argv[0] == "ratios":
        from bench.report import write_step_ratios

        print(write_step_ratios())
        return 0
    if argv[0] not in KINDS or len(argv) < 2:
        print(f"usage: python -m bench {{{'|'.join(KINDS)}}} NAME --tag TAG [ARGS...] | index | ratios",
              file=sys.stderr)
        return 2
    package, names = KINDS[argv[0]]
    if argv[1] not in names:
        print(f"unknown {argv[0]} benchmark {argv[1]!r}; choose from {', '.join(names)}", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, "-m", f"{package}.{argv[1]}", *argv[2:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
