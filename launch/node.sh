#!/usr/bin/env bash
# Usage: launch/node.sh <nnodes> <nproc_per_node> <node_rank> <rdzv_host:port> <rdzv_id> <recipe> [overrides...]
#   launch/node.sh 2 8 $SLURM_NODEID $HEAD:29500 $SLURM_JOB_ID grpo_qwen2_5_math_1_5b_math500   (what slurm/ runs)
# One node of a multi-node job: torchrun with the c10d rendezvous hosted by node 0 at <rdzv_host:port>.
# Every other node first waits up to RDZV_TIMEOUT seconds (default 900) for that endpoint to accept connections and
# otherwise fails with one line, instead of hanging. Process topology only: hyperparameters live in conf/, recipes/.
set -euo pipefail
if [[ $# -lt 6 ]]; then
  sed -n '2,6p' "$0" >&2; exit 2
fi
NNODES=$1; NPROC=$2; NODE_RANK=$3; ENDPOINT=$4; RDZV_ID=$5; RECIPE=$6; shift 6
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
TIMEOUT=${RDZV_TIMEOUT:-900}
if [[ "$NODE_RANK" != 0 ]]; then
  if ! "$PYTHON" - "$ENDPOINT" "$TIMEOUT" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        sys.exit(0)
    except OSError:
        if time.monotonic() >= deadline:
            sys.exit(1)
        time.sleep(1)
PY
  then
    echo "launch/node.sh: node $NODE_RANK could not reach the rendezvous at $ENDPOINT within ${TIMEOUT} s (RDZV_TIMEOUT); is node 0 running?" >&2
    exit 1
  fi
fi
exec "$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --nproc_per_node="$NPROC" --node_rank="$NODE_RANK" \
  --rdzv-backend=c10d --rdzv-endpoint="$ENDPOINT" --rdzv-id="$RDZV_ID" --rdzv-conf="timeout=${TIMEOUT}" \
  -m rlpost.train --config-name="$RECIPE" "$@"
