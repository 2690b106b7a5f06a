"""runtime/modes.inference_mode: eval + no_grad for the block, train mode and tokenizer sides restored after."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rlpost.runtime.modes import inference_mode

torch = pytest.importorskip("torch")


def test_restores_train_mode_and_sides_even_after_an_error() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)).train()
    tok = SimpleNamespace(padding_side="right", truncation_side="right")
    with pytest.raises(RuntimeError, match="boom"), inference_mode(net, tok, padding_side="left",
                                                                    truncation_side="left"):
        assert (net.training, net[1].training, torch.is_grad_enabled()) == (False, False, False)
        assert (tok.padding_side, tok.truncation_side) == ("left", "left")
        raise RuntimeError("boom")
    assert (net.training, net[1].training, torch.is_grad_enabled()) == (True, True, True)
    assert (tok.padding_side, tok.truncation_side) == ("right", "right")


def test_keeps_eval_mode_and_unset_sides() -> None:
    net = torch.nn.Linear(2, 2).eval()
    tok = SimpleNamespace(padding_side="left", truncation_side="right")
    with inference_mode(net, tok, padding_side="right"):
        assert (tok.padding_side, tok.truncation_side) == ("right", "right")
    assert not net.training and (tok.padding_side, tok.truncation_side) == ("left", "right")


class Linear(torch.nn.Linear):
    dtype, device = torch.float32, torch.device("cpu")  # as a transformers model exposes them


def test_autocasts_an_fp32_model_to_the_resolved_dtype() -> None:
    net = Linear(2, 2)
    with inference_mode(net, autocast_dtype="bfloat16"):
        assert net(torch.ones(1, 2)).dtype == torch.bfloat16
    with inference_mode(net):
        assert net(torch.ones(1, 2)).dtype == torch.float32
