"""Experiment tracking: wandb on rank 0 (offline by default), a no-op tracker elsewhere."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rlpost.distributed import is_main
from rlpost.io import write_text

logger = logging.getLogger(__name__)


class NullTracker:
    """Does nothing; used on ranks > 0 and with ``logger=none``."""

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def summary(self, metrics: dict[str, float]) -> None:
        pass

    def finish(self) -> None:
        pass


class WandbTracker:
    """A wandb run; HF's WandbCallback reuses it, so TRL's metrics land in the same run."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, float]) -> None:
        self.run.summary.update(metrics)

    def finish(self) -> None:
        self.run.finish()


def start_run(logger_cfg: Any, run_dir: str | Path, run_name: str, config: Any = None) -> NullTracker | WandbTracker:
    """Start wandb on rank 0 when ``logger_cfg.report_to == wandb``; the run id is kept in ``run_dir`` for resumes.
    ``config`` (the run's whole config) is recorded with the run."""
    run_dir = Path(run_dir)
    if logger_cfg.report_to != "wandb":
        os.environ["WANDB_DISABLED"] = "true"
        return NullTracker()
    os.environ["WANDB_MODE"] = logger_cfg.mode
    os.environ.setdefault("WANDB_DIR", str(run_dir))
    os.environ.setdefault("WANDB_SILENT", "true")
    if not is_main():
        return NullTracker()
    import wandb

    id_file = run_dir / "wandb_run_id"
    run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
    write_text(id_file, run_id)
    run = wandb.init(
        project=logger_cfg.project,
        name=run_name,
        group=logger_cfg.group,
        tags=list(logger_cfg.tags),
        id=run_id,
        resume="allow",
        dir=str(run_dir),
        config=None if config is None else OmegaConf.to_container(config, resolve=True),
    )
    logger.info("wandb run %s (%s mode) in %s", run_id, logger_cfg.mode, run_dir / "wandb")
    return WandbTracker(run)
