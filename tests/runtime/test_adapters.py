"""runtime/adapters: merged() folds LoRA into the base (same outputs, no peft left), restore_adapter puts saved
adapter weights back, load_merged reads an adapter directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlpost.runtime.adapters import load_merged, merged, restore_adapter

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")


@pytest.fixture()
def lora_model(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    model = peft.get_peft_model(base, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # a trained adapter: B is zero at init
    return model.eval()


def test_merged_matches_the_adapter_and_leaves_plain_models(lora_model, tmp_path: Path) -> None:
    x = torch.tensor([[1, 5, 9, 3]])
    with torch.no_grad():
        want = lora_model(input_ids=x).logits
        lora_model.save_pretrained(tmp_path / "adapter")
        plain = merged(lora_model)
        assert not isinstance(plain, peft.PeftModel)
        assert torch.allclose(plain(input_ids=x).logits, want, atol=1e-5)
        assert merged(plain) is plain
        loaded = load_merged(tmp_path / "adapter", dtype=torch.float32)
        assert torch.allclose(loaded(input_ids=x).logits, want, atol=1e-5)


def test_restore_adapter_puts_saved_weights_back(lora_model, tmp_path: Path) -> None:
    lora_model.save_pretrained(tmp_path / "best")
    saved = {k: v.clone() for k, v in lora_model.named_parameters() if "lora_" in k}
    with torch.no_grad():
        for name, p in lora_model.named_parameters():
            if "lora_" in name:
                p.add_(1.0)
    restore_adapter(lora_model, tmp_path / "best")
    assert all(torch.equal(p, saved[k]) for k, p in lora_model.named_parameters() if "lora_" in k)
