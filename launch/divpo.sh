#!/usr/bin/env bash
# Usage: launch/divpo.sh <nproc_per_node> <recipe> [hydra overrides...]
# Process topology only: per round, generation/scoring/selection in one process, then DPO under torchrun.
# Online rounds alternate; finished stages are skipped, so each call advances one stage group.
set -euo pipefail
NPROC=$1; RECIPE=$2; shift 2
export RLPOST_RUN_DIR=${RLPOST_RUN_DIR:-outputs/${RECIPE}/$(date +%Y%m%d-%H%M%S)}
export TOKENIZERS_PARALLELISM=false
ROUNDS=$(python -m rlpost.train --config-name="$RECIPE" "$@" --cfg job 2>/dev/null | awk '/^algo:/{a=1} a&&/rounds:/{print $2; exit}')
for _ in $(seq "${ROUNDS:-1}"); do
  python -m rlpost.train --config-name="$RECIPE" "$@" "stages=[evaluate,generate,score,diversity,select]"
  torchrun --standalone --nproc_per_node="$NPROC" -m rlpost.train --config-name="$RECIPE" "$@" "stages=[train]"
done
python -m rlpost.train --config-name="$RECIPE" "$@" "stages=[evaluate]"
