"""Evaluation tasks: math QA, ICL probe, IFEval."""
