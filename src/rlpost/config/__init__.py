"""Typed config schemas (Hydra ConfigStore) and cross-group validation."""

from rlpost.config.schema import register_configs
from rlpost.config.validate import validate

__all__ = ["register_configs", "validate"]
