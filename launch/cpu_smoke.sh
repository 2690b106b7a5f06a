#!/usr/bin/env bash
# Usage: launch/cpu_smoke.sh [hydra overrides...]     e.g. launch/cpu_smoke.sh launch=zero2
# Two gloo processes on CPU, tiny random model, 2 GRPO steps: checks the distributed plumbing in ~30 s.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
export RLPOST_RUN_DIR=${RLPOST_RUN_DIR:-outputs/cpu_smoke/$(date +%Y%m%d-%H%M%S)}
exec "$HERE/torchrun.sh" 2 grpo model=tiny_random logger=none eval=none +debug=cpu_smoke "$@"
