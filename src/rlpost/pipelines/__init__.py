"""Pipelines: one ``run(cfg) -> metrics`` per method, each a short storyboard of stage calls."""
