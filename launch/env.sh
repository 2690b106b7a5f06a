#!/usr/bin/env bash
# Shared environment for every launcher (sourced). Process topology and runtime plumbing only: nothing here
# may change results; hyperparameters live in conf/ and recipes/.
export TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false}
# one OpenMP thread per process unless the user says otherwise (N ranks on one CPU machine would oversubscribe)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# DeepSpeed picks CUDA when present; on a CPU-only machine point it at its CPU accelerator (gloo backend)
if ! command -v nvidia-smi >/dev/null 2>&1; then
  export DS_ACCELERATOR=${DS_ACCELERATOR:-cpu}
fi
# fail fast instead of hanging forever when a rank dies inside a collective
export TORCH_NCCL_ASYNC_ERROR_HANDLING=${TORCH_NCCL_ASYNC_ERROR_HANDLING:-1}
export PYTHON=${PYTHON:-python}
# repo root, so launchers work from any directory
RLPOST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RLPOST_ROOT
