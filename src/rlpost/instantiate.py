"""Hydra instantiation that keeps rlpost's one-line errors: a target's own UserError is raised as itself."""

from __future__ import annotations

from typing import Any

from rlpost.errors import UserError


def instantiate_node(node: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate(node)``; a :class:`UserError` raised by the target (or a nested one) is re-raised
    unwrapped, so the CLI prints its one line instead of Hydra's wrapper and traceback."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        while isinstance(cause, InstantiationException):
            cause = cause.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise
