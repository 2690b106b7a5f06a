"""Skipping zero-advantage rows: the batch surgery, and TRL's own loss and gradients are unchanged by it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _batch(advantages, prompt_lens=(3, 5, 2, 4), completion_lens=(4, 6, 2, 3), width_p=6, width_c=7, seed=0):
    """A TRL-shaped GRPO training batch: left-padded prompts, right-padded completions."""
    g = torch.Generator().manual_seed(seed)
    n = len(advantages)
    prompt_ids = torch.zeros(n, width_p, dtype=torch.long)
    prompt_mask = torch.zeros(n, width_p, dtype=torch.long)
    completion_ids = torch.zeros(n, width_c, dtype=torch.long)
    completion_mask = torch.zeros(n, width_c, dtype=torch.long)
    for i, (lp, lc) in enumerate(zip(prompt_lens, completion_lens, strict=True)):
        prompt_ids[i, width_p - lp:] = torch.randint(3, 200, (lp,), generator=g)
        prompt_mask[i, width_p - lp:] = 1
        completion_ids[i, :lc] = torch.randint(3, 200, (lc,), generator=g)
        completion_mask[i, :lc] = 1
    return {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
            "completion_mask": completion_mask, "advantages": torch.tensor(advantages, dtype=torch.float32),
            "old_per_token_logps": torch.randn(n, width_c, generator=g),
            "num_items_in_batch": completion_mask.sum()}


def test_drops_zero_rows_and_trims_padding_only_they_needed():
    from rlpost.training.informative_rows import drop_zero_advantage_rows

    batch = _batch([0.0, 0.0, 1.5, -0.5])
    out = drop_zero_advantage_rows(batch)
    assert out["advantages"].tolist() == [1.5, -0.5]
    assert torch.equal(out["completion_ids"], batch["completion_ids"][2:, :3])  # longest kept completion: 3
    assert torch.equal(out["old_per_token_logps"], batch["old_per_token_logps"][2:, :3])
    assert torch.equal(out["prompt_ids"], batch["prompt_ids"][2:, 2:])  # longest kept prompt: 4 of 6
    assert out["prompt_mask"][:, 0].any() and out["completion_mask"][:, -1].any()
    assert out["num_items_in_batch"] is batch["num_items_in_batch"]  # the loss normaliser stays the whole batch's


def test_all_zero_keeps_the_shortest_row_and_nothing_to_drop_is_a_no_op():
    from rlpost.training.informative_rows import drop_zero_advantage_rows

    out = drop_zero_advantage_rows(_batch([0.0, 0.0, 0.0, 0.0]))
    assert out["completion_ids"].shape == (1, 2) and out["advantages"].tolist() == [0.0]
    full = _batch([1.0, -1.0, 0.5, -0.5])
    assert drop_zero_advantage_rows(full) is full
    images = {**_batch([0.0, 1.0, 0.0, -1.0]), "pixel_values": torch.zeros(2, 3)}
    assert drop_zero_advantage_rows(images) is images


def test_resolve_skip_names_the_key():
    from rlpost.errors import ConfigError
    from rlpost.training.informative_rows import resolve_skip

    assert resolve_skip("auto", "cispo", 0.0, False) and resolve_skip(True, "dapo", 0.0, False)
    assert not resolve_skip("auto", "dapo", 0.0, True) and not resolve_skip("false", "dapo", 0.0, False)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage=true: kl_coef=0.1"):
        resolve_skip("true", "dapo", 0.1, False)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage='maybe'"):
        resolve_skip("maybe", "dapo", 0.0, False)


def _trainer(model_dir, tmp_path, loss_type):
    from datasets import Dataset
    from trl import GRPOConfig

    from rlpost.training.grpo_trainer import GRPOTrainer

    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2, loss_type=loss_type,
                      beta=0.0, max_completion_length=8, use_cpu=True, report_to=[], bf16=False)
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[lambda completions, **kw: [0.0] * len(completions)],
                          args=args, train_dataset=Dataset.from_list([{"prompt": "a b"}] * 4))
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def _loss_and_grads(trainer, batch):
    trainer.model.zero_grad()
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("loss_type", ["dapo", "cispo"])
def test_trl_loss_and_gradients_are_unchanged(tiny_model_dir, tmp_path, loss_type):
    from rlpost.training.informative_rows import drop_zero_advantage_rows

    trainer = _trainer(tiny_model_dir, tmp_path, loss_type)
    assert trainer.skip_zero_advantage
    trainer.model.train()
    batch = _batch([0.0, 1.2, 0.0, -0.7])
    batch["old_per_token_logps"] = batch["old_per_token_logps"] * 0.01 - 3.0  # ratios near 1, some clipped
    loss_full, grads_full = _loss_and_grads(trainer, batch)
    loss_kept, grads_kept = _loss_and_grads(trainer, drop_zero_advantage_rows(batch))
    assert loss_full.abs() > 0 and torch.allclose(loss_full, loss_kept, rtol=1e-5, atol=1e-7)
    assert grads_full.keys() == grads_kept.keys()
    for name, g in grads_full.items():
        assert torch.allclose(g, grads_kept[name], rtol=1e-4, atol=1e-7), name


def test_the_check_can_fail_for_a_row_averaged_loss(tiny_model_dir, tmp_path):
    """With loss_type=grpo (mean over rows) dropping rows does change the loss: why ``auto`` leaves it off."""
    from rlpost.training.informative_rows import drop_zero_advantage_rows

    trainer = _trainer(tiny_model_dir, tmp_path, "grpo")
    assert not trainer.skip_zero_advantage
    trainer.model.train()
    batch = _batch([0.0, 1.2, 0.0, -0.7])
    loss_full, _ = _loss_and_grads(trainer, batch)
    loss_kept, _ = _loss_and_grads(trainer, drop_zero_advantage_rows(batch))
    assert not torch.allclose(loss_full, loss_kept, rtol=1e-3)
