"""Rollout engines for rlpost's own generation (evaluation, DivPO pools, offline pseudo-labels)."""
