#!/usr/bin/env bash
# Usage: launch/torchrun.sh <nproc_per_node> <recipe> [hydra overrides...]
#   launch/torchrun.sh 4 grpo_qwen2_5_math_1_5b_math500 launch=zero2
#   launch/torchrun.sh 2 grpo model=tiny_random +debug=cpu_smoke        # a conf/ primary works too
# One node, N processes. Process topology only: anything that changes results belongs in conf/ or recipes/.
# <recipe> is found by name (recipes/<recipe>.yaml or conf/<recipe>.yaml); rlpost.train adds recipes/ itself.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,5p' "$0" >&2; exit 2
fi
NPROC=$1; RECIPE=$2; shift 2
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# One run dir for all ranks: ${now:} in hydra.run.dir would be resolved separately in each rank (hydra#2070).
export RLPOST_RUN_DIR=${RLPOST_RUN_DIR:-outputs/${RECIPE}/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RLPOST_RUN_DIR"
exec "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" -m rlpost.train \
  --config-name="$RECIPE" "$@"
