"""One entry for the benchmark suite: ``python -m bench [NAME ...] [-- extra args]``.

    python -m bench                 # list the benchmarks
    python -m bench rollout grpo_step   # run these, one after the other (never in parallel on 2 cores)

Each benchmark writes bench/results/<name>.json and .md itself; see bench/README.md for their options.
"""

from __future__ import annotations

import subprocess
import sys

# name -> (module, default arguments for the SmolLM2 run)
SUITE: dict[str, tuple[str, list[str]]] = {
    "quickstart": ("bench.quickstart", []),
    "rollout": ("bench.rollout", ["--model", "smollm2_135m", "--budget-s", "240"]),
    "grpo_step": ("bench.grpo_step", ["--model", "smollm2_135m", "--steps", "3", "--batch", "16",
                                      "--num-generations", "8", "--max-new-tokens", "48"]),
    "eval_speed": ("bench.eval_speed", ["--model", "smollm2_135m", "--questions", "64", "--k", "8"]),
    "sft_step": ("bench.sft_step", ["--model", "smollm2_135m", "--steps", "6"]),
    "grpo_arith": ("bench.grpo_arith", ["--minutes", "20"]),
    "grpo_tta": ("bench.grpo_tta", ["report"]),
    "ifeval_grpo": ("bench.ifeval_grpo", ["--minutes", "30"]),
    "self_consistency": ("bench.self_consistency", []),
    "divpo": ("bench.divpo", []),
    "tallrec": ("bench.tallrec", []),
    "scale": ("bench.scale", ["--model", "smollm2_135m"]),
}


def main(argv: list[str]) -> int:
    if "--" in argv:
        names, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    else:
        names, extra = argv, []
    if not names:
        for name, (module, args) in SUITE.items():
            print(f"{name:18s} python -m {module} {' '.join(args)}")
        return 0
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {sorted(SUITE)}", file=sys.stderr)
        return 2
    for name in names:
        module, args = SUITE[name]
        print(f"== {name}: python -m {module} {' '.join(args + extra)}", flush=True)
        rc = subprocess.call([sys.executable, "-m", module, *args, *extra])
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
