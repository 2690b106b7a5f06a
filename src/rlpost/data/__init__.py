"""Datasets (canonical columns prompt_id/question/answer), prompt templates and TRL row formats."""
