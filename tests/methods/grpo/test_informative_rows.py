"""Skipping zero-advantage rows (the batch surgery; TRL's own loss and gradients are unchanged by it, or ``auto`` is
off) and leaving unscored rows out of the loss."""

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
    from rlpost.methods.grpo.informative_rows import drop_zero_advantage_rows

    batch = _batch([0.0, 0.0, 1.5, -0.5])
    out = drop_zero_advantage_rows(batch)
    assert out["advantages"].tolist() == [1.5, -0.5]
    assert torch.equal(out["completion_ids"], batch["completion_ids"][2:, :3])  # longest kept completion: 3
    assert torch.equal(out["old_per_token_logps"], batch["old_per_token_logps"][2:, :3])
    # the prompt padding is kept: TRL passes no position_ids, so trimming it would shift every position
    assert torch.equal(out["prompt_ids"], batch["prompt_ids"][2:]) and torch.equal(out["prompt_mask"],
                                                                                   batch["prompt_mask"][2:])
    assert out["completion_mask"][:, -1].any()
    assert out["num_items_in_batch"] is batch["num_items_in_batch"]  # the loss normaliser stays the whole batch's


def test_all_zero_keeps_the_shortest_row_and_nothing_to_drop_is_a_no_op():
    from rlpost.methods.grpo.informative_rows import drop_zero_advantage_rows

    out = drop_zero_advantage_rows(_batch([0.0, 0.0, 0.0, 0.0]))
    assert out["completion_ids"].shape == (1, 2) and out["advantages"].tolist() == [0.0]
    full = _batch([1.0, -1.0, 0.5, -0.5])
    assert drop_zero_advantage_rows(full) is full
    images = {**_batch([0.0, 1.0, 0.0, -1.0]), "pixel_values": torch.zeros(2, 3)}
    assert drop_zero_advantage_rows(images) is images


def test_resolve_skip_names_the_key():
    from rlpost.errors import ConfigError
    from rlpost.methods.grpo.informative_rows import resolve_skip

    assert resolve_skip("auto", "cispo", 0.0, False) and resolve_skip(True, "dapo", 0.0, False)
    assert not resolve_skip("auto", "dapo", 0.0, True) and not resolve_skip("false", "dapo", 0.0, False)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage=true: kl_coef=0.1"):
        resolve_skip("true", "dapo", 0.1, False)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage='maybe'"):
        resolve_skip("maybe", "dapo", 0.0, False)
    assert not resolve_skip("auto", "dapo", 0.0, False, top_entropy_quantile=0.2)
    assert not resolve_skip("auto", "vespo", 0.0, False, router_aux_loss=True)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage=true: top_entropy_quantile=0.2 masks tokens"):
        resolve_skip("true", "dapo", 0.0, False, top_entropy_quantile=0.2)
    with pytest.raises(ConfigError, match="algo.skip_zero_advantage=true: the MoE router aux loss"):
        resolve_skip("true", "dapo", 0.0, False, router_aux_loss=True)


def _gpt2(vocab_size):
    """Tiny GPT-2: learned absolute position embeddings (dropout off, so that two forward passes can agree)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_embd=16, n_layer=2, n_head=2, n_positions=64,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None,
                                      eos_token_id=None))


def _moe(vocab_size, router_aux_loss_coef=0.5):
    """Tiny Qwen2-MoE (4 experts, top-2); TRL adds its router load-balancing loss (weight large enough to see)."""
    from transformers import Qwen2MoeConfig, Qwen2MoeForCausalLM

    torch.manual_seed(0)
    return Qwen2MoeForCausalLM(Qwen2MoeConfig(
        vocab_size=vocab_size, hidden_size=16, intermediate_size=32, moe_intermediate_size=16,
        shared_expert_intermediate_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        num_experts=4, num_experts_per_tok=2, router_aux_loss_coef=router_aux_loss_coef, max_position_embeddings=64))


def _trainer(model_dir, tmp_path, loss_type, model=None, reward_funcs=None, rows=None, num_generations=2,
             skip="auto", **args):
    """rlpost's GRPOTrainer on the tiny Qwen2 of ``model_dir``, or on ``model(vocab size)`` with its tokenizer."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig

    from rlpost.methods.grpo.trainer import GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=num_generations,
                      loss_type=loss_type, max_completion_length=8, use_cpu=True, report_to=[], bf16=False,
                      **{"beta": 0.0, **args})
    rewards = reward_funcs or [lambda completions, **kw: [0.0] * len(completions)]
    trainer = GRPOTrainer(model=str(model_dir) if model is None else model(len(tokenizer)), reward_funcs=rewards,
                          args=args, processing_class=tokenizer, skip_zero_advantage=skip,
                          train_dataset=Dataset.from_list(rows or [{"prompt": "a b"}] * 4))
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def _loss_and_grads(trainer, batch):
    trainer.model.zero_grad()
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


def _full_and_skipped(trainer):
    """TRL's loss and gradients on a batch with two zero-advantage rows, and on the same batch with them skipped."""
    from rlpost.methods.grpo.informative_rows import drop_zero_advantage_rows

    trainer.model.train()
    batch = _batch([0.0, 1.2, 0.0, -0.7])
    batch["old_per_token_logps"] = batch["old_per_token_logps"] * 0.01 - 3.0  # ratios near 1, some clipped
    return _loss_and_grads(trainer, batch), _loss_and_grads(trainer, drop_zero_advantage_rows(batch))


@pytest.mark.parametrize(("loss_type", "model"), [("dapo", None), ("cispo", None), ("vespo", None),
                                                  ("dapo", _gpt2), ("dapo", lambda v: _moe(v, 0.0))],
                         ids=["dapo", "cispo", "vespo", "gpt2-absolute-positions", "moe-without-aux-loss"])
def test_trl_loss_and_gradients_are_unchanged(tiny_model_dir, tmp_path, loss_type, model):
    trainer = _trainer(tiny_model_dir, tmp_path, loss_type, model=model)
    assert trainer.skip_zero_advantage
    (loss_full, grads_full), (loss_kept, grads_kept) = _full_and_skipped(trainer)
    assert loss_full.abs() > 0 and torch.allclose(loss_full, loss_kept, rtol=1e-5, atol=1e-7)
    assert grads_full.keys() == grads_kept.keys()
    for name, g in grads_full.items():
        assert torch.allclose(g, grads_kept[name], rtol=1e-4, atol=1e-7), name


@pytest.mark.parametrize(("loss_type", "model", "args", "reason"), [
    ("grpo", None, {}, "loss_type='grpo' averages over the rows"),
    ("dapo", None, {"top_entropy_quantile": 0.5}, "top_entropy_quantile=0.5 masks tokens"),
    ("dapo", _moe, {}, "the MoE router aux loss"),
], ids=["grpo-row-mean", "entropy-quantile-mask", "moe-router-aux-loss"])
def test_auto_is_off_and_true_refused_where_skipping_changes_the_loss(tiny_model_dir, tmp_path, loss_type, model,
                                                                      args, reason):
    """Where dropping rows does change TRL's loss, ``auto`` leaves skipping off and ``true`` fails, naming the key."""
    from rlpost.errors import ConfigError

    trainer = _trainer(tiny_model_dir, tmp_path, loss_type, model=model, **args)
    assert not trainer.skip_zero_advantage
    (loss_full, _), (loss_kept, _) = _full_and_skipped(trainer)
    assert not torch.allclose(loss_full, loss_kept, rtol=1e-5, atol=1e-7), (loss_full, loss_kept)
    with pytest.raises(ConfigError, match=f"algo.skip_zero_advantage=true: {reason}"):
        _trainer(tiny_model_dir, tmp_path, loss_type, model=model, skip="true", **args)


def _rows(batch, rows, n):
    """The given rows of a TRL batch (tensors with one entry per row; the rest as they are)."""
    return {k: v[rows] if torch.is_tensor(v) and v.dim() >= 1 and v.size(0) == n else v for k, v in batch.items()}


def test_vote_only_rows_take_no_part_in_the_loss(tiny_model_dir, tmp_path):
    """TTRL split (vote over 4, train on n_train=2) with kl_coef > 0: TRL's loss and gradients equal those on the two
    trained rows alone: the vote-only rows get no policy term, no KL, and do not count in the normaliser."""
    from rlpost.rewards.self_consistency import MajorityVoteReward

    def spread(completions, **kw):  # a second reward that also abstains on the vote-only rows, so advantages differ
        return [float(i % 4) if i % 4 < 2 else None for i in range(len(completions))]

    row = {"prompt": "a b", "prompt_id": "p0", "answer": "1", "labeled": True}
    trainer = _trainer(tiny_model_dir, tmp_path, "dapo", reward_funcs=[MajorityVoteReward(n_train=2), spread],
                       rows=[row] * 4, num_generations=4, beta=0.1)
    assert not trainer.skip_zero_advantage  # kl_coef > 0: every row goes through the loss
    torch.manual_seed(0)
    with torch.no_grad():  # move the policy away from the reference model, so the KL term and its gradient are > 0
        for p in trainer.model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    trainer.model.train()
    batch = trainer._generate_and_score_completions([row] * 4)
    assert batch["advantages"][2:].eq(0).all() and batch["advantages"][:2].ne(0).all()
    trained = _rows({k: v for k, v in batch.items() if k != "tool_mask"}, slice(0, 2), 4)
    trained["num_items_in_batch"] = trained["completion_mask"].sum()
    loss_all, grads_all = _loss_and_grads(trainer, batch)
    loss_trained, grads_trained = _loss_and_grads(trainer, trained)
    assert trainer._metrics["train"]["kl"][-1] > 0
    assert loss_trained.abs() > 0 and torch.allclose(loss_all, loss_trained, rtol=1e-5, atol=1e-7), (loss_all,
                                                                                                        loss_trained)
    for name, g in grads_trained.items():
        assert torch.allclose(g, grads_all[name], rtol=1e-4, atol=1e-7), name
    assert int(batch["num_items_in_batch"]) == int(trained["num_items_in_batch"])
    # in training, the micro-batch the loss sees holds the trained rows only (no forward/backward on vote-only rows)
    micro = trainer._prepare_inputs([row] * 4)
    assert micro["advantages"].size(0) == 2 and micro["advantages"].ne(0).all()
    assert int(micro["num_items_in_batch"]) == int(micro["completion_mask"].sum())
    assert trainer._metrics["train"]["zero_adv_rows_skipped"][-1] == 0.5


def test_mask_rows_out_of_loss_keeps_an_existing_loss_mask():
    from rlpost.methods.grpo.informative_rows import loss_token_count, mask_rows_out_of_loss

    batch = {**_batch([0.0, 1.0, 0.0, -1.0]), "tool_mask": torch.tensor([[1, 0, 1, 1, 1, 1, 1]] * 4)}
    out = mask_rows_out_of_loss(batch, torch.tensor([True, False, False, True]))
    assert out["tool_mask"][[0, 3]].eq(0).all() and torch.equal(out["tool_mask"][1:3], batch["tool_mask"][1:3])
    assert batch["tool_mask"].eq(1).sum() == 24  # the input batch is not modified
    assert int(loss_token_count(out)) == int(batch["completion_mask"][1:3].sum()) - 2  # minus the tool tokens


@pytest.mark.parametrize("loss_type", ["dapo", "cispo", "vespo"])
def test_padding_to_a_common_row_count_leaves_loss_and_gradients_unchanged(tiny_model_dir, tmp_path, loss_type):
    """Processes pad their kept rows to the largest kept count with dropped rows (a zero-advantage row, then a row out
    of the loss): TRL's loss and gradients are those of the unpadded micro-batch."""
    from rlpost.methods.grpo.informative_rows import drop_rows, loss_token_count, mask_rows_out_of_loss

    trainer = _trainer(tiny_model_dir, tmp_path, loss_type)
    trainer.model.train()
    batch = _batch([0.0, 1.2, 0.5, -0.7], completion_lens=(2, 6, 3, 4))
    batch["old_per_token_logps"] = batch["old_per_token_logps"] * 0.01 - 3.0
    batch = mask_rows_out_of_loss(batch, torch.tensor([False, False, True, False]))  # row 2: a vote-only row
    batch["num_items_in_batch"] = loss_token_count(batch)
    drop = torch.tensor([True, False, True, False])
    loss, grads = _loss_and_grads(trainer, drop_rows(batch, drop))
    assert loss.abs() > 0
    for n, padded_with in [(3, [0.0, 1.2, -0.7]), (4, [0.0, 1.2, 0.5, -0.7])]:
        padded = drop_rows(batch, drop, keep_at_least=n)
        assert padded["advantages"].tolist() == pytest.approx(padded_with)  # the shortest dropped row first
        loss_p, grads_p = _loss_and_grads(trainer, padded)
        assert torch.allclose(loss, loss_p, rtol=1e-5, atol=1e-7), (n, loss, loss_p)
        assert grads.keys() == grads_p.keys()
        for name, g in grads.items():
            assert torch.allclose(g, grads_p[name], rtol=1e-4, atol=1e-7), (n, name)
