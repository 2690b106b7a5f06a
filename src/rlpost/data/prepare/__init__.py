"""Offline data preparation CLIs."""
