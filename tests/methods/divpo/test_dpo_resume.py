"""DivPO's DPO stage: a full disk during a checkpoint save is one line, and the re-run resumes the round from the
last committed checkpoint and ends where an uninterrupted round ends."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.methods.divpo.test_divpo_pipeline import load_weights, tiny_cfg

pytestmark = pytest.mark.integration
PAIRS = [{"prompt": [{"role": "user", "content": f"Describe person {i}."}], "chosen": f'{{"name": "P{i}"}}',
          "rejected": "no"} for i in range(6)]


def test_dpo_round_resumes_after_full_disk(tmp_path: Path, monkeypatch, caplog) -> None:
    import logging

    import torch
    from transformers import Trainer

    from rlpost.errors import StorageError
    from rlpost.methods.divpo.stages import train_dpo
    from rlpost.pipeline import checkpoint_fingerprint

    cfg = tiny_cfg(tmp_path / "run", ["trainer.max_steps=3", "trainer.save_steps=1", "trainer.save_total_limit=1"])
    fingerprint = checkpoint_fingerprint(cfg)
    reference_dir, round_dir = tmp_path / "reference", tmp_path / "round_0"
    reference = train_dpo(cfg.trainer, cfg.get("peft"), cfg.model, PAIRS, reference_dir, fingerprint)

    save_rng_state = Trainer._save_rng_state

    def full_disk_at_step_2(self, output_dir: str) -> None:
        if self.state.global_step == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        save_rng_state(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_rng_state", full_disk_at_step_2)
    ckpts = round_dir / "checkpoints"
    with pytest.raises(StorageError, match=f"last committed checkpoint {ckpts / 'checkpoint-1'} is intact"):
        train_dpo(cfg.trainer, cfg.get("peft"), cfg.model, PAIRS, round_dir, fingerprint)
    assert not (ckpts / "checkpoint-2" / "rlpost_complete.json").exists() and not (round_dir / "policy").exists()

    monkeypatch.setattr(Trainer, "_save_rng_state", save_rng_state)  # space freed: re-run the stage
    with caplog.at_level(logging.INFO, logger="rlpost.checkpoint.resume"):
        resumed = train_dpo(cfg.trainer, cfg.get("peft"), cfg.model, PAIRS, round_dir, fingerprint)
    assert f"resuming from {ckpts / 'checkpoint-1'}" in caplog.text  # not a restart from step 0
    assert resumed["steps"] == reference["steps"] == 3
    assert not ckpts.exists(), "round checkpoints are deleted once policy/ is saved"
    expected, got = load_weights(reference_dir / "policy"), load_weights(round_dir / "policy")
    for name, value in expected.items():
        assert torch.allclose(value, got[name], atol=1e-6, rtol=0), f"{name} differs from the uninterrupted round"
