"""Shared Hydra entry-point plumbing for rlpost-train and rlpost-eval: recipe lookup and one-line user errors."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from rlpost.config.schema import config_dirs, register_configs
from rlpost.errors import UserError

logger = logging.getLogger("rlpost")


def add_recipe_dir(argv: list[str]) -> list[str]:
    """Let ``--config-name <recipe>`` find recipes/ without the user passing ``--config-dir``."""
    if any(a.startswith(("--config-dir", "-cd")) for a in argv):
        return argv
    _, recipes = config_dirs()
    return [argv[0], f"--config-dir={recipes}", *argv[1:]]


def run_user_task(task: Callable[[], Any]) -> Any:
    """Run ``task``; a :class:`UserError` becomes ``rlpost: error: ...`` and exit code 2 (RLPOST_DEBUG=1 re-raises).

    On success the process group (if any) is shut down before returning (rlpost.distributed.shutdown).
    """
    from rlpost.distributed import shutdown

    try:
        result = task()
    except UserError as err:
        if os.environ.get("RLPOST_DEBUG"):
            raise
        sys.stderr.write(f"rlpost: error: {err}\n(set RLPOST_DEBUG=1 for the traceback)\n")
        sys.stderr.flush()
        os._exit(2)  # skip distributed/atexit teardown that could hang the other ranks' error path
    shutdown()
    return result


def hydra_main(config_name: str, task: Callable[[Any], Any]) -> None:
    """Run ``task(cfg)`` under Hydra with conf/ as the config path and recipes/ on the search path."""
    import hydra

    register_configs()
    conf, _ = config_dirs()
    sys.argv = add_recipe_dir(sys.argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    wrapped = hydra.main(config_path=str(conf), config_name=config_name, version_base="1.3")(
        lambda cfg: run_user_task(lambda: task(cfg))
    )
    wrapped()
