"""DivPO pipeline on the tiny random model: one round, tiny pools, 2 DPO steps, then a resumed re-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import compose_recipe

pytestmark = pytest.mark.integration


def tiny_cfg(run_dir: Path, extra: list[str] | None = None):
    cfg = compose_recipe("divpo", [
        "model=tiny_random", "logger=none", f"run_dir={run_dir}", "algo.n=4", "data.source.repeats=3",
        "sampling.max_new_tokens=8", "eval.sampling.max_new_tokens=8", "eval.k=4", "eval.batch_size=16",
        "eval.embedding_spread=false",
        "trainer.max_steps=2",
        "trainer.per_device_train_batch_size=2", "trainer.bf16=false", "trainer.learning_rate=1.0e-2",
        "trainer.disable_tqdm=true", "run_name=divpo-test", *(extra or [])])
    OmegaConf.set_struct(cfg, False)
    del cfg["hydra"]
    # random bytes are never valid JSON: a length reward gives every pool a reward spread
    OmegaConf.update(cfg, "reward", {"funcs": {"length": {"_target_": "rlpost.rewards.formatting.LengthPenalty",
                                                          "max_chars": 0, "per_char": 1.0}},
                                     "weights": {"length": 1.0}}, merge=False)
    return cfg


def load_weights(path: Path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_divpo_round_trains_and_resumes(tmp_path: Path) -> None:
    from rlpost.methods.divpo.pipeline import run
    from rlpost.runtime.model import resolve_model_path

    cfg = tiny_cfg(tmp_path / "run")
    results = run(cfg)
    rd = tmp_path / "run" / "round_0"
    for name in ("candidates.jsonl", "scored.jsonl", "diversity.jsonl", "pairs.jsonl", "select_stats.json"):
        assert (rd / name).is_file(), name
    pairs = [json.loads(line) for line in (rd / "pairs.jsonl").read_text().splitlines()]
    assert pairs and len(pairs) == results["divpo"]["rounds"][0]["pairs_kept"] <= 3
    for p in pairs:
        assert set(p) == {"prompt_id", "prompt", "chosen", "rejected", "meta"}
        assert p["prompt"][-1]["role"] == "user" and isinstance(p["chosen"], str)
        assert p["meta"]["chosen_reward"] > p["meta"]["rejected_reward"]
    candidates = json.loads((rd / "candidates.jsonl").read_text().splitlines()[0])
    assert len(candidates["completions"]) == 4 and "token_logprobs" not in candidates  # attribute rarity needs none
    assert results["divpo"]["rounds"][0]["train"]["steps"] == 2
    assert results["divpo"]["rounds"][0]["tokens_per_s"] > 0
    assert "unique/mean_attribute" in results["after"] and "quality/valid_rate" in results["before"]
    base = load_weights(Path(resolve_model_path(cfg.model)))
    trained = load_weights(rd / "policy")
    assert any(not base[k].equal(trained[k]) for k in base), "DPO did not change the weights"

    # a second run in the same run_dir skips every finished stage (files untouched)
    stamps = {p.name: p.stat().st_mtime_ns for p in rd.iterdir() if p.is_file()}
    again = run(tiny_cfg(tmp_path / "run"))
    assert {p.name: p.stat().st_mtime_ns for p in rd.iterdir() if p.is_file()} == stamps
    assert again["divpo"]["rounds"][0]["pairs_kept"] == results["divpo"]["rounds"][0]["pairs_kept"]


def test_divpo_all_invalid_pools_fail_clearly_and_keep_stages(tmp_path: Path) -> None:
    from rlpost.errors import DataError
    from rlpost.methods.divpo.pipeline import run

    cfg = tiny_cfg(tmp_path / "run", ["eval.before=false", "eval.after=false"])
    OmegaConf.update(cfg, "reward", {"funcs": {"json_record": {"_target_": "rlpost.rewards.rules.JsonRecordReward",
                                                               "keys": ["first_name"]}},
                                     "weights": {"json_record": 1.0}}, merge=False)
    with pytest.raises(DataError, match="none of 3 pools produced a pair.*all_invalid"):
        run(cfg)
    rd = tmp_path / "run" / "round_0"
    assert (rd / "diversity.jsonl").is_file() and not (rd / "pairs.jsonl").exists()


def test_divpo_lora_two_online_rounds(tmp_path: Path) -> None:
    from rlpost.methods.divpo.pipeline import run
    from rlpost.runtime.model import resolve_model_path

    cfg = tiny_cfg(tmp_path / "run", ["peft=lora", "algo.rounds=2", "eval.before=false", "eval.after=false",
                                      "trainer.max_steps=1"])
    results = run(cfg)
    assert [r["round"] for r in results["divpo"]["rounds"]] == [0, 1]
    # round 1 sampled from round 0's merged policy, and its training moved the weights again
    base = load_weights(Path(resolve_model_path(cfg.model)))
    r0, r1 = (load_weights(tmp_path / "run" / f"round_{r}" / "policy") for r in (0, 1))
    assert set(r0) == set(base)  # merged full model, no adapter keys
    assert any(not base[k].equal(r0[k]) for k in base) and any(not r0[k].equal(r1[k]) for k in r0)


def test_divpo_split_stages(tmp_path: Path) -> None:
    from rlpost.methods.divpo.pipeline import run

    rd = tmp_path / "run" / "round_0"
    first = run(tiny_cfg(tmp_path / "run", ["stages=[generate,score,diversity,select]", "trainer.max_steps=1"]))
    assert first["divpo"]["rounds"] == [] and "after" not in first
    assert (rd / "pairs.jsonl").is_file() and not (rd / "policy").exists()
    second = run(tiny_cfg(tmp_path / "run", ["stages=[train]", "trainer.max_steps=1"]))
    assert (rd / "policy" / "model.safetensors").is_file() and second["divpo"]["rounds"][0]["train"]["steps"] == 1


def test_divpo_logprob_criterion_is_the_policys_temperature_1_logprob(tmp_path: Path) -> None:
    """D(y) = -log pi(y|x) of the sampling policy, teacher-forced at T=1: not the T=0.7, top-p=0.5 sampler's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.methods.divpo.pipeline import run
    from rlpost.runtime.model import resolve_model_path

    cfg = tiny_cfg(tmp_path / "run", ["algo/diversity=logprob", "sampling.top_p=0.5", "eval.sampling.top_p=0.5",
                                      "eval.before=false",
                                      "stages=[generate,score,diversity]"])
    run(cfg)
    rows = [json.loads(line) for line in (tmp_path / "run" / "round_0" / "diversity.jsonl").read_text().splitlines()]
    path = resolve_model_path(cfg.model)
    model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    for row in rows:
        prompt = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        for completion, score in zip(row["completions"], row["diversity"], strict=True):
            ids = tok(prompt + completion, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logp = model(torch.tensor([ids])).logits[0].log_softmax(-1)
            nll = -sum(logp[t - 1, ids[t]].item() for t in range(len(prompt_ids), len(ids)))
            assert score == pytest.approx(nll, abs=0.05)  # bf16 body, fp32 head vs all-fp32 here
