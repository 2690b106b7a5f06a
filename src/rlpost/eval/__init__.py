"""Evaluation metrics (pure) and the evaluation loop."""
