"""A resumed run (same run_dir) reuses the wandb run id of the first attempt."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from rlpost.tracking import start_run


def test_same_wandb_run_id_after_restart(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = OmegaConf.create({"run_dir": str(tmp_path), "run_name": "r", "logger": {
        "report_to": "wandb", "mode": "disabled", "project": "rlpost", "group": None, "tags": []}})
    first = start_run(cfg.logger, cfg.run_dir, cfg.run_name, config=cfg)
    first_id = first.run.id
    first.finish()
    second = start_run(cfg.logger, cfg.run_dir, cfg.run_name, config=cfg)  # what a re-run of the same command does
    assert (tmp_path / "wandb_run_id").read_text() == first_id == second.run.id
    second.finish()
