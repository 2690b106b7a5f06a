"""DAPO dynamic sampling: full batches of informative groups, prompts counted as consumed, TRL's loss on the kept rows,
the prompt stream restored on resume, and one-line errors for bad settings."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_prompt_stream_walks_trl_repeat_sampler_order():
    from trl.trainer.utils import RepeatSampler

    from rlpost.methods.grpo.prompt_stream import PromptStream

    trl_order = list(RepeatSampler(list(range(10)), mini_repeat_count=1, seed=7))
    stream = PromptStream(10, seed=7)
    assert stream.take(4) + stream.take(6) == trl_order
    resumed = PromptStream(10, seed=7)
    resumed.cursor = 13
    assert resumed.take(3) == PromptStream(10, seed=7).take(16)[13:]


def uniform_or_alternating(completions, kind, **kw):
    """Reward 1 on every completion of a ``uniform`` prompt; 0, 1, 0, ... within the groups of other prompts."""
    return [1.0 if k == "uniform" else float(i % 2) for i, k in enumerate(kind)]


def _trainer(model_dir, tmp_path, rows, sampler=None, estimator="grpo", scale="group", **args_kw):
    from datasets import Dataset
    from trl import GRPOConfig

    from rlpost.methods.grpo.trainer import GRPOTrainer

    kw = {"per_device_train_batch_size": 8, "num_generations": 2, "loss_type": "dapo", "beta": 0.0,
          "max_completion_length": 4, "use_cpu": True, "report_to": [], "bf16": False, "seed": 3,
          "scale_rewards": scale, "logging_steps": 1, "save_strategy": "no", **args_kw}
    args = GRPOConfig(output_dir=str(tmp_path), **kw)
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[uniform_or_alternating], args=args,
                          train_dataset=Dataset.from_list(rows), dynamic_sampling=sampler,
                          advantage_estimator=estimator)
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def _rows(n_uniform, n_varied):
    rows = [{"prompt": f"u{i}", "kind": "uniform"} for i in range(n_uniform)]
    rows += [{"prompt": f"v{i}", "kind": "varied"} for i in range(n_varied)]
    return rows


def test_batch_is_full_of_informative_groups_and_dropped_prompts_are_consumed(tiny_model_dir, tmp_path):
    from rlpost.methods.grpo.dynamic_sampling import DynamicSampler
    from rlpost.methods.grpo.prompt_stream import PromptStream

    sampler = DynamicSampler(max_rounds=10)
    trainer = _trainer(tiny_model_dir, tmp_path, _rows(12, 4), sampler)  # 3 of 4 groups uniform
    trainer.model.train()
    drawn = []
    take = None

    def spy(count):
        out = take(count)
        drawn.append(out)
        return out

    out = trainer._generate_and_score_completions(None)
    take = sampler.stream.take
    sampler.stream.take = spy
    out = trainer._generate_and_score_completions(None)
    assert out["advantages"].shape == (8,)  # 4 groups of 2: the batch is full
    groups = out["advantages"].view(-1, 2)
    assert (groups != 0).all(), "a trained group has equal rewards"
    tok = trainer.processing_class
    kept = [tok.decode(ids[mask.bool()]) for ids, mask in zip(out["prompt_ids"], out["prompt_mask"], strict=True)]
    assert all(text.strip().startswith("v") for text in kept), kept
    metrics = trainer._metrics["train"]
    rounds, consumed = metrics["dynamic_sampling/rounds"][-1], metrics["dynamic_sampling/prompts_consumed"]
    assert rounds == len(drawn) and rounds >= 2
    assert consumed[-1] - consumed[-2] == 4 * rounds == sum(len(d) for d in drawn)  # every drawn prompt counted
    assert metrics["dynamic_sampling/groups_drawn"][-1] == 4 * rounds
    flat = [i for d in drawn for i in d]  # the stream's next prompts, in order: nothing replayed or skipped
    assert flat == PromptStream(16, seed=3).take(int(consumed[-1]))[int(consumed[-2]):]
    assert metrics["dynamic_sampling/groups_kept"][-1] == 4
    assert out["num_items_in_batch"] == out["completion_mask"].sum()


def test_short_batch_after_the_round_limit_is_filled_and_logged(tiny_model_dir, tmp_path):
    from rlpost.methods.grpo.dynamic_sampling import DynamicSampler

    trainer = _trainer(tiny_model_dir, tmp_path, _rows(30, 2), DynamicSampler(max_rounds=1))
    trainer.model.train()
    out = trainer._generate_and_score_completions(None)
    assert out["advantages"].shape == (8,)
    metrics = trainer._metrics["train"]
    kept, filler = metrics["dynamic_sampling/groups_kept"][-1], metrics["dynamic_sampling/filler_groups"][-1]
    assert kept + filler == 4 and filler >= 2
    assert int((out["advantages"].view(-1, 2) != 0).all(dim=1).sum()) == kept


def test_never_informative_reward_is_a_one_line_error_naming_it(tiny_model_dir, tmp_path):
    from rlpost.errors import ConfigError
    from rlpost.methods.grpo.dynamic_sampling import DynamicSampler

    trainer = _trainer(tiny_model_dir, tmp_path, _rows(8, 0), DynamicSampler(max_rounds=2, max_uninformative_rounds=3))
    trainer.model.train()
    trainer._generate_and_score_completions(None)  # 2 dry rounds: filler, no error yet
    msg = r"reward uniform_or_alternating gave every group equal rewards for 3 generation rounds"
    with pytest.raises(ConfigError, match=msg) as e:
        trainer._generate_and_score_completions(None)
    assert "\n" not in str(e.value) and "algo.max_uninformative_rounds" in str(e.value)


def test_loss_on_the_concatenated_kept_rows_equals_trl_loss_on_the_same_rows(tiny_model_dir, tmp_path):
    """Re-padding rows of two rounds into one batch leaves TRL's loss (dapo: token sum / num_items_in_batch)
    exactly the sum of its losses on those rows in their own batches."""
    from rlpost.methods.grpo.dynamic_sampling import concat_rows
    from tests.methods.grpo.test_informative_rows import _batch

    trainer = _trainer(tiny_model_dir, tmp_path, _rows(0, 4))
    trainer.model.train()
    a = _batch([1.0, -1.0, 0.5, -0.5], prompt_lens=(3, 5, 2, 4), completion_lens=(4, 6, 2, 3), seed=1)
    b = _batch([0.7, -0.7, 0.2, -0.2], prompt_lens=(6, 1, 2, 2), completion_lens=(7, 1, 5, 2), width_p=8, width_c=9,
               seed=2)
    for batch in (a, b):
        batch["old_per_token_logps"] = batch["old_per_token_logps"] * 0.01 - 3.0
    rows_a, rows_b = [2, 3], [0, 1]
    merged = concat_rows([(a, rows_a), (b, rows_b)], pad_token_id=0)
    total = merged["completion_mask"].sum()
    merged["num_items_in_batch"] = total
    loss = trainer._compute_loss(trainer.model, merged)
    parts = []
    for batch, rows in ((a, rows_a), (b, rows_b)):
        sub = {k: (v[rows] if torch.is_tensor(v) and v.dim() >= 1 else v) for k, v in batch.items()}
        sub["num_items_in_batch"] = total
        parts.append(trainer._compute_loss(trainer.model, sub))
    assert loss.abs() > 0 and torch.allclose(loss, parts[0] + parts[1], rtol=1e-5, atol=1e-7)
    assert merged["prompt_ids"].shape == (4, 8) and merged["completion_ids"].shape == (4, 9)


def test_rows_out_of_the_loss_stay_out_when_rounds_are_merged():
    """A round with unscored rows carries TRL's tool_mask (rows out of the loss); a round without gets ones."""
    from rlpost.methods.grpo.dynamic_sampling import concat_rows
    from rlpost.methods.grpo.informative_rows import loss_token_count, mask_rows_out_of_loss
    from tests.methods.grpo.test_informative_rows import _batch

    a = mask_rows_out_of_loss(_batch([1.0, -1.0, 0.5, -0.5], seed=1), torch.tensor([False, True, False, False]))
    b = _batch([0.7, -0.7, 0.2, -0.2], seed=2)
    merged = concat_rows([(a, [0, 1]), (b, [2, 3])], pad_token_id=0)
    assert merged["tool_mask"][1].sum() == 0 and merged["tool_mask"][2:].min() == 1
    expected = a["completion_mask"][0].sum() + b["completion_mask"][2:].sum()
    assert loss_token_count(merged) == expected


def test_stream_position_is_checkpointed_and_restored(tiny_model_dir, tmp_path):
    """A resumed run continues the prompt stream where the checkpoint left it (trainer_state.json)."""
    from transformers import TrainerState

    from rlpost.methods.grpo.dynamic_sampling import DynamicSampler

    rows = _rows(12, 4)
    full = _trainer(tiny_model_dir, tmp_path / "a", rows, DynamicSampler(max_rounds=3), max_steps=2,
                    save_strategy="steps", save_steps=1)
    full.train()
    state = TrainerState.load_from_json(str(tmp_path / "a" / "checkpoint-1" / "trainer_state.json"))
    saved = state.stateful_callbacks["DynamicSampler"]["attributes"]
    history = [h for h in full.state.log_history if "dynamic_sampling/prompts_consumed" in h]
    assert saved["cursor"] == history[0]["dynamic_sampling/prompts_consumed"] > 0
    resumed_sampler = DynamicSampler(max_rounds=3)
    resumed = _trainer(tiny_model_dir, tmp_path / "a", rows, resumed_sampler, max_steps=2, save_strategy="no")
    starts = []
    original = resumed_sampler.generate

    def spy(trainer, score):
        starts.append(resumed_sampler.stream.cursor if resumed_sampler.stream else resumed_sampler.cursor)
        return original(trainer, score)

    resumed_sampler.generate = spy
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-1"))
    assert starts == [saved["cursor"]]


def test_num_iterations_reuses_one_dynamic_batch(tiny_model_dir, tmp_path):
    """With num_iterations=2 TRL trains twice on one generation batch: dynamic sampling runs once for two steps."""
    from rlpost.methods.grpo.dynamic_sampling import DynamicSampler

    sampler = DynamicSampler(max_rounds=3)
    calls = []
    original = sampler.generate
    sampler.generate = lambda trainer, score: calls.append(1) or original(trainer, score)
    trainer = _trainer(tiny_model_dir, tmp_path, _rows(12, 4), sampler, max_steps=2, num_iterations=2)
    trainer.train()
    assert len(calls) == 1 and trainer.state.global_step == 2


@pytest.mark.parametrize(("key", "value", "match"), [
    ("max_generation_rounds", 0, "algo.max_generation_rounds=0 must be >= 1"),
    ("max_uninformative_rounds", 0, "algo.max_uninformative_rounds=0 must be >= 1"),
    ("scale_rewards", "batch", "algo.dynamic_sampling with algo.scale_rewards=batch"),
    ("advantage_estimator", "rloo", "algo.advantage_estimator=rloo uses the raw leave-one-out difference"),
    ("importance_sampling_level", "seq", "algo.importance_sampling_level='seq'"),
    ("vllm_importance_sampling_mode", "tok", "algo.vllm_importance_sampling_mode='tok'"),
])
def test_bad_settings_fail_at_startup_naming_the_key(key, value, match):
    from omegaconf import OmegaConf

    from rlpost.config.validate import validate
    from rlpost.errors import ConfigError

    algo = {"num_generations": 8, "dynamic_sampling": True, "scale_rewards": "group", key: value}
    cfg = OmegaConf.create({"pipeline": "rlpost.methods.grpo.pipeline.run", "algo": algo,
                            "trainer": {"per_device_train_batch_size": 16, "gradient_accumulation_steps": 1}})
    with pytest.raises(ConfigError, match=match) as e:
        validate(cfg, world_size=1, cuda_available=False)
    assert "\n" not in str(e.value)
