"""GRPO/RLVR: pipeline, trainer, rollout function, dynamic sampling, advantages, vLLM weight sync."""
