#!/usr/bin/env bash
# Usage: launch/vllm_server.sh <model_dir> [port] [extra vLLM server args...]
#   launch/vllm_server.sh outputs/base_model 8000
# vLLM's OpenAI server for rollout=vllm_server (docs/vllm.md): listens on $VLLM_HOST (default 127.0.0.1), loads LoRA
# adapters at run time (the trainer writes each version under rollout.adapter_dir, which this server must be able to
# read), returns the log-probs of the sampling distribution. On CPU: fp32, eager mode, $VLLM_CPU_KVCACHE_SPACE GiB of
# KV cache (default 1). Health: curl http://127.0.0.1:<port>/health
set -euo pipefail
if [[ $# -lt 1 ]]; then
  sed -n '2,7p' "$0" >&2; exit 2
fi
MODEL=$1; PORT=${2:-8000}; shift $(( $# >= 2 ? 2 : 1 ))
PYTHON=${PYTHON:-python}
export VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
HW_ARGS=()
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
  HW_ARGS=(--dtype float32 --enforce-eager)
fi
exec "$PYTHON" -m vllm.entrypoints.openai.api_server --model "$MODEL" --host "${VLLM_HOST:-127.0.0.1}" --port "$PORT" \
  --enable-lora --max-lora-rank "${MAX_LORA_RANK:-16}" --logprobs-mode processed_logprobs "${HW_ARGS[@]}" "$@"
