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


def start_run(cfg: Any) -> NullTracker | WandbTracker:
    """Start wandb on rank 0 when ``logger.report_to == wandb``; the run id is kept in ``run_dir`` for resumes."""
    run_dir = Path(cfg.run_dir)
    if cfg.logger.report_to != "wandb":
        os.environ["WANDB_DISABLED"] = "true"
        return NullTracker()
    os.environ["WANDB_MODE"] = cfg.logger.mode
    os.environ.setdefault("WANDB_DIR", str(run_dir))
    os.environ.setdefault("WANDB_SILENT", "true")
    if not is_main():
        return NullTracker()
    import wandb

    id_file = run_dir / "wandb_run_id"
    run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
    write_text(id_file, run_id)
    run = wandb.init(
        project=cfg.logger.project,
        name=cfg.run_name,
        group=cfg.logger.group,
        tags=list(cfg.logger.tags),
        id=run_id,
        resume="allow",
        dir=str(run_dir),
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    logger.info("wandb run %s (%s mode) in %s", run_id, cfg.logger.mode, run_dir / "wandb")
    return WandbTracker(run)
