"""Checkpoint commit, manifest, resume and stage bookkeeping shared by every method."""
