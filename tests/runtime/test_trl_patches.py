"""The CPU compact fused-head patch gives TRL's loss and gradients, and really drops the unlabelled rows."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _loss_and_grad(model_dir, labels_from: int):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    add_fused_lm_head(model)
    ids = torch.randint(3, 200, (3, 40))
    labels = ids.clone()
    labels[:, :labels_from] = -100  # answer-only loss: the last tokens carry labels
    labels[1, -3:] = -100  # a right-padded row
    out = model(input_ids=ids, labels=labels, fused_lm_head=True)
    out.loss.backward()
    grad = model.get_output_embeddings().weight.grad.clone()
    return out.loss.detach(), out.log_probs.detach(), grad


def test_compact_head_matches_trl(tiny_model_dir, monkeypatch):
    from trl.trainer import utils as trl_utils

    from rlpost.runtime import trl_patches

    seen = []
    original = trl_utils._use_triton
    monkeypatch.setattr(trl_utils, "_use_triton", lambda d: seen.append("full") or original(d))
    loss_full, lp_full, grad_full = _loss_and_grad(tiny_model_dir, labels_from=34)
    assert seen == ["full"]

    monkeypatch.setattr(trl_utils, "_use_triton", original)
    monkeypatch.setattr(trl_patches, "_APPLIED", False)
    assert trl_patches.compact_fused_head_on_cpu()
    assert trl_utils._use_triton(torch.device("cpu")) is True  # the compact branch is taken on CPU now

    calls = []
    real_apply = trl_utils._ChunkedLogProbFunction.apply
    monkeypatch.setattr(trl_utils._ChunkedLogProbFunction, "apply",
                        lambda hidden, *a: calls.append(hidden.shape[0]) or real_apply(hidden, *a))
    loss_c, lp_c, grad_c = _loss_and_grad(tiny_model_dir, labels_from=34)
    assert calls == [6 + 3 + 6]  # only labelled positions were projected (3 rows x 39 shifted positions before)
    torch.testing.assert_close(loss_c, loss_full)
    torch.testing.assert_close(lp_c, lp_full)
    torch.testing.assert_close(grad_c, grad_full)
    assert trl_patches.compact_fused_head_on_cpu()  # idempotent
