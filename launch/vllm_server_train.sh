#!/usr/bin/env bash
# Usage: launch/vllm_server_train.sh <model_dir> <recipe> [hydra overrides...]
#   launch/vllm_server_train.sh outputs/base grpo model=hf model.path=outputs/base peft=lora
# Single node, disaggregated: vLLM's server on 127.0.0.1:$VLLM_PORT (default 8000, launch/vllm_server.sh) beside one
# trainer process using rollout=vllm_server with LoRA adapters synced through $RLPOST_RUN_DIR/vllm_adapters.
# The trainer waits for the server's health check (rollout.server_startup_timeout_s); the server stops with the job.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,6p' "$0" >&2; exit 2
fi
MODEL=$1; RECIPE=$2; shift 2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/env.sh"
PORT=${VLLM_PORT:-8000}
export RLPOST_RUN_DIR=${RLPOST_RUN_DIR:-outputs/${RECIPE}/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RLPOST_RUN_DIR"
"$HERE/vllm_server.sh" "$MODEL" "$PORT" > "$RLPOST_RUN_DIR/vllm_server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
"$PYTHON" -m rlpost.train --config-name="$RECIPE" rollout=vllm_server "rollout.server_url=http://127.0.0.1:$PORT" \
  "rollout.adapter_dir=$RLPOST_RUN_DIR/vllm_adapters" "$@"
