"""GSPO, RLOO and the vLLM rollout correction: each loss differs from GRPO's on one batch as its definition says."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def alternating(completions, **kw):
    """0, 1, 0, 1, ... over the batch: every group of an even size gets rewards [0, 1, 0, 1, ...]."""
    return [float(i % 2) for i in range(len(completions))]


def _trainer(model_dir, tmp_path, **kw):
    from datasets import Dataset
    from trl import GRPOConfig

    from rlpost.methods.grpo.trainer import GRPOTrainer

    estimator = kw.pop("advantage_estimator", "grpo")
    base = {"per_device_train_batch_size": 8, "num_generations": 4, "loss_type": "dapo", "beta": 0.0,
            "max_completion_length": 6, "use_cpu": True, "report_to": [], "bf16": False, "seed": 0}
    args = GRPOConfig(output_dir=str(tmp_path), **{**base, **kw})
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[alternating], args=args,
                          train_dataset=Dataset.from_list([{"prompt": f"p{i}"} for i in range(4)]),
                          advantage_estimator=estimator)
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.train()
    return trainer


def _batch():
    from tests.methods.grpo.test_informative_rows import _batch as make

    batch = make([1.0, -0.5, 0.8, -1.2])
    batch["old_per_token_logps"] = None
    return batch


def _logps(trainer, batch):
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask,
                                                                 batch["completion_ids"].size(1))
    return logps


def test_gspo_clips_one_sequence_ratio_where_grpo_clips_each_token(tiny_model_dir, tmp_path):
    """GSPO: loss = -mean_i min(s_i A_i, clip(s_i) A_i), s_i = exp(mean_t log r_it); GRPO (loss_type grpo):
    -mean_i mean_t min(r_it A_i, clip(r_it) A_i). Checked against TRL's loss with off-policy old log-probs."""
    batch = _batch()
    token = _trainer(tiny_model_dir, tmp_path, loss_type="grpo", epsilon=0.1)
    seq = _trainer(tiny_model_dir, tmp_path, loss_type="grpo", epsilon=0.1, importance_sampling_level="sequence")
    mask = batch["completion_mask"].float()
    g = torch.Generator().manual_seed(0)
    logps = _logps(token, batch)
    batch["old_per_token_logps"] = logps + 0.3 * torch.randn(logps.shape, generator=g)
    a = batch["advantages"].unsqueeze(1)
    log_r = (logps - batch["old_per_token_logps"]) * mask
    r = log_r.exp()
    grpo = (-(torch.min(r * a, r.clamp(0.9, 1.1) * a)) * mask).sum(1) / mask.sum(1)
    s = (log_r.sum(1) / mask.sum(1)).exp().unsqueeze(1)
    gspo = -torch.min(s * a, s.clamp(0.9, 1.1) * a).squeeze(1)
    with torch.no_grad():
        loss_token, loss_seq = token._compute_loss(token.model, batch), seq._compute_loss(seq.model, batch)
    assert torch.allclose(loss_token, grpo.mean(), atol=1e-6)
    assert torch.allclose(loss_seq, gspo.mean(), atol=1e-6)
    assert not torch.allclose(loss_seq, loss_token, atol=1e-3)


def test_rloo_advantage_is_the_leave_one_out_difference(tiny_model_dir, tmp_path):
    """Rewards [0, 1, 0, 1] per group: RLOO gives r_i - mean_{j!=i} r_j = +-2/3, GRPO unscaled +-1/2; on-policy the
    policy gradient is linear in the advantage, so RLOO's is 4/3 of unscaled GRPO's on the same rows."""
    rloo = _trainer(tiny_model_dir, tmp_path, scale_rewards="none", advantage_estimator="rloo")
    plain = _trainer(tiny_model_dir, tmp_path, scale_rewards="none")
    rows = [{"prompt": "p0"}] * 4 + [{"prompt": "p1"}] * 4
    out = rloo._generate_and_score_completions(rows)
    assert torch.allclose(out["advantages"], torch.tensor([-2 / 3, 2 / 3] * 4))
    grpo_adv = plain._generate_and_score_completions(rows)["advantages"]
    assert torch.allclose(grpo_adv, torch.tensor([-0.5, 0.5] * 4))
    grads = []
    for advantages in (out["advantages"], grpo_adv):
        rloo.model.zero_grad()
        rloo._compute_loss(rloo.model, {**out, "advantages": advantages}).backward()
        grads.append(torch.cat([p.grad.flatten() for p in rloo.model.parameters() if p.grad is not None]))
    assert grads[1].abs().max() > 0 and torch.allclose(grads[0], grads[1] * 4 / 3, rtol=1e-4, atol=1e-8)


def test_vllm_correction_reweights_each_sequence_by_its_rollout_ratio(tiny_model_dir, tmp_path):
    """TRL's vLLM correction multiplies the per-token loss by the (capped) trainer/vLLM probability ratio: on-policy
    that is the loss of the same batch with each advantage scaled by its sequence's ratio."""
    trainer = _trainer(tiny_model_dir, tmp_path, vllm_importance_sampling_mode="sequence_truncate")
    batch = _batch()
    ratio = torch.tensor([[0.5], [1.0], [2.0], [3.0]])
    trainer.use_vllm = True  # the flag the loss reads; the ratio itself comes from vLLM's log-probs
    with torch.no_grad():
        corrected = trainer._compute_loss(trainer.model, {**batch, "importance_sampling_ratio": ratio})
        trainer.use_vllm = False
        plain = trainer._compute_loss(trainer.model, batch)
        scaled = trainer._compute_loss(trainer.model, {**batch, "advantages": batch["advantages"] * ratio[:, 0]})
    assert torch.allclose(corrected, scaled, rtol=1e-5) and not torch.allclose(corrected, plain, rtol=1e-3)


@pytest.mark.parametrize(("algo", "expect"), [
    ("gspo", {"importance_sampling_level": "sequence", "loss_type": "grpo", "epsilon": 3e-4, "num_iterations": 2}),
    ("rloo", {"scale_rewards": "none", "loss_type": "dapo"}),
    ("dapo", {"epsilon_high": 0.28, "mask_truncated_completions": True}),
])
def test_algo_choices_reach_trl(algo, expect):
    from rlpost.config.validate import validate
    from tests.conftest import compose_recipe

    cfg = compose_recipe("grpo", [f"algo={algo}", "logger=none"])
    validate(cfg, world_size=1, cuda_available=False)
    assert {k: cfg.trainer[k] for k in expect} == expect  # the trainer group interpolates algo: TRL gets them
    assert cfg.trainer.vllm_importance_sampling_mode == "sequence_mask"
    assert cfg.algo.dynamic_sampling == (algo == "dapo")
    assert cfg.algo.advantage_estimator == ("rloo" if algo == "rloo" else "grpo")
