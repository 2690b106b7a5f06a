"""TALLRec LoRA SFT end to end on the tiny random model with synthetic fixture data (never the MovieLens files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import pipeline_cfg

pytestmark = pytest.mark.integration
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "tallrec"


def _cfg(tmp_path, extra=()):
    return pipeline_cfg("sft", ["model=tiny_random", "logger=none", "+debug=sft_smoke",
                                f"data.splits.train_path={ASSETS / 'train.json'}",
                                f"data.splits.valid_path={ASSETS / 'valid.json'}",
                                f"data.splits.test_path={ASSETS / 'test.json'}",
                                "eval.scorer.multi_token=first", "trainer.max_steps=3",
                                "trainer.learning_rate=1e-2", *extra], tmp_path)


def test_sft_saves_moved_adapter_keeps_base_and_merges(tmp_path):
    from peft import PeftModel

    from rlpost.methods.sft.pipeline import run
    from rlpost.runtime.adapters import merge_adapter
    from rlpost.runtime.model import load_policy

    cfg = _cfg(tmp_path)
    results = run(cfg)
    assert results["train"]["steps"] == 3
    assert {"auc", "accuracy", "log_loss"} <= set(results["after"]) and "before" in results
    assert [h["step"] for h in results["sft"]["valid_history"]] == [0, 1, 2, 3]
    assert json.loads((tmp_path / "metrics.json").read_text())["sft"]["best_step"] >= 0
    assert (tmp_path / "adapter_best" / "adapter_config.json").is_file()

    adapter = load_file(tmp_path / "adapter_last" / "adapter_model.safetensors")
    assert adapter and all("lora_" in k for k in adapter), "adapter must hold LoRA weights only"
    assert any("q_proj" in k for k in adapter) and any("v_proj" in k for k in adapter)
    assert not any("k_proj" in k for k in adapter)
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert any(v.abs().sum() > 0 for v in lora_b), "LoRA B matrices did not move from their zero init"

    base, _ = load_policy(cfg.model)
    reference = {k: v.clone() for k, v in base.state_dict().items()}
    peft_model = PeftModel.from_pretrained(base, tmp_path / "adapter_last")
    for name, tensor in peft_model.get_base_model().state_dict().items():
        if "lora_" not in name:
            key = name.replace(".base_layer", "")
            assert torch.equal(tensor, reference[key]), f"base weight {key} changed"

    merged_dir = merge_adapter(tmp_path / "adapter_last", tmp_path / "merged")
    merged = load_file(merged_dir / "model.safetensors")
    changed = {k for k, v in merged.items() if k in reference and not torch.equal(v, reference[k])}
    assert changed and all("q_proj" in k or "v_proj" in k for k in changed)


def test_single_class_validation_is_an_error(tmp_path):
    from rlpost.errors import DataError
    from rlpost.methods.sft.pipeline import run

    rows = [r for r in json.loads((ASSETS / "valid.json").read_text()) if r["output"] == "Yes."]
    (tmp_path / "valid.json").write_text(json.dumps(rows))
    cfg = _cfg(tmp_path, [f"data.splits.valid_path={tmp_path / 'valid.json'}", "eval.before=false"])
    with pytest.raises(DataError, match="valid: all 4 labels are 1; AUC is undefined"):
        run(cfg)


def test_full_fine_tuning_restores_the_best_checkpoint(tmp_path):
    """peft=none: adapter_best holds a whole model, and the test split is scored with those weights."""
    from rlpost.methods.sft.pipeline import run
    from rlpost.runtime.adapters import restore_adapter
    from rlpost.runtime.model import load_policy

    cfg = _cfg(tmp_path, ["peft=none", "trainer.max_steps=2"])
    results = run(cfg)
    assert (tmp_path / "adapter_best" / "config.json").is_file() and results["sft"]["best_step"] >= 0
    from omegaconf import OmegaConf

    model, _ = load_policy(cfg.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # so that a restore that does nothing cannot pass
    restore_adapter(model, tmp_path / "adapter_best")
    best, _ = load_policy(OmegaConf.merge(cfg.model, {"path": str(tmp_path / "adapter_best")}))
    assert all(torch.equal(v, best.state_dict()[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(("recipe", "prompt_in_loss"), [("sft", False), ("sft_llama2_7b_tallrec_movie", True)])
def test_loss_positions_match_the_recipe(tmp_path, tiny_model_dir, recipe, prompt_in_loss):
    """The CPU recipes put the loss on the answer only; the Llama-2 TALLRec recipe trains on the inputs too, as
    TALLRec does (train_on_inputs=True)."""
    from datasets import Dataset
    from hydra.utils import instantiate
    from trl import SFTTrainer

    from rlpost.data.sources.tallrec import to_prompt_completion
    from rlpost.runtime.model import load_policy
    from rlpost.runtime.trl_args import build_trl_args

    cfg = _cfg(tmp_path, [f"model.path={tiny_model_dir}", "model.dtype=float32", "peft=none"])
    if recipe != "sft":
        cfg = pipeline_cfg(recipe, ["logger=none", "+debug=sft_smoke", f"model.path={tiny_model_dir}",
                                    "model.dtype=float32", "peft=none",
                                    f"data.splits.train_path={ASSETS / 'train.json'}",
                                    f"data.splits.valid_path={ASSETS / 'valid.json'}",
                                    f"data.splits.test_path={ASSETS / 'test.json'}"], tmp_path)
    model, tok = load_policy(cfg.model)
    splits = instantiate(cfg.data.splits, seed=0)
    rows = to_prompt_completion(splits["train"][:1], instantiate(cfg.data.prompt), tok)
    trainer = SFTTrainer(model=model, args=build_trl_args(cfg.trainer), processing_class=tok,
                         train_dataset=Dataset.from_list(rows))
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labelled, tokens = int((batch["labels"] != -100).sum()), int(batch["attention_mask"].sum())
    completion = len(tok(rows[0]["completion"], add_special_tokens=False)["input_ids"])
    if prompt_in_loss:
        assert labelled == tokens
    else:
        assert labelled <= completion + 1 < tokens  # the answer (and eos) only


def test_sft_refuses_a_scorer_label_the_answers_do_not_start_with(tmp_path):
    from rlpost.errors import ConfigError
    from rlpost.methods.sft.pipeline import run

    with pytest.raises(ConfigError, match=r"eval.scorer.negative='Bad' is token 'B' after the prompt, but training "
                                          r"answers 'No.' start with \['N'\]"):
        run(_cfg(tmp_path, ["eval.scorer.negative=Bad"]))
