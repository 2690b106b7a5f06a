"""Guards against collapse: detector rules, the callback stopping a run, offline labels and the curriculum."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rlpost.errors import ConfigError, DataError
from rlpost.methods.grpo.guards.collapse import SHARE_KEY, CollapseDetector, CollapseThresholds, detect_collapse
from rlpost.methods.grpo.guards.pseudo_labels import (
    attach_labels,
    compute_base_labels,
    label_accuracy,
    select_by_agreement,
    split_validation,
)
from rlpost.types import Group, Sample

TH = CollapseThresholds(window=2)


@pytest.mark.parametrize(("series", "val", "expect"), [
    ({SHARE_KEY: [0.6, 0.7, 0.8]}, [], None),  # no consensus yet
    ({SHARE_KEY: [1.0, 1.0, 1.0], "entropy": [1.0, 1.0, 0.9]}, [], None),  # consensus, but entropy holds
    ({SHARE_KEY: [1.0, 1.0, 1.0], "entropy": [1.0, 0.4, 0.3]}, [], "entropy fell"),
    # validation accuracy holds up: the entropy fall is earned confidence (gold-reward runs show it too)
    ({SHARE_KEY: [1.0, 1.0, 1.0], "entropy": [1.0, 0.4, 0.3]}, [0.5, 0.6, 0.6], None),
    ({SHARE_KEY: [1.0, 1.0, 1.0], "entropy": [1.0, 0.4, 0.3]}, [0.5, 0.6, 0.5], "validation accuracy fell"),
    ({SHARE_KEY: [1.0, 1.0, 1.0, 1.0], "kl": [0.01, 0.01, 0.2, 0.3]}, [], "KL jumped"),
    ({SHARE_KEY: [1.0, 1.0, 1.0, 1.0], "kl": [0.0, 0.0, 1e-4, 1e-4]}, [], None),  # below kl_min
    ({SHARE_KEY: [0.99, 0.99]}, [0.5, 0.6, 0.58], None),  # within val_drop
    ({SHARE_KEY: [0.99, 0.99]}, [0.5, 0.6, 0.5], "validation accuracy fell"),
])
def test_detect_collapse(series, val, expect) -> None:
    reason = detect_collapse(series, val, TH)
    assert (reason is None) if expect is None else (expect in reason)


def test_collapse_detector_stops_training(tmp_path) -> None:
    det = CollapseDetector(window=2)
    det.run_dir = tmp_path
    control = SimpleNamespace(should_training_stop=False)
    for step, (share, ent) in enumerate([(0.5, 1.0), (0.7, 1.0), (0.99, 0.3), (1.0, 0.2)], 1):
        det.on_log(None, SimpleNamespace(global_step=step), control, logs={SHARE_KEY: share, "entropy": ent})
    assert control.should_training_stop and "entropy fell" in det.reason
    assert (tmp_path / "guards" / "collapse.json").is_file()


def test_entropy_test_can_be_turned_off() -> None:
    series = {SHARE_KEY: [1.0, 1.0, 1.0], "entropy": [1.0, 0.4, 0.3]}
    assert detect_collapse(series, [], CollapseThresholds(window=2, entropy_drop=None)) is None


def test_collapse_detector_ignores_logs_without_share() -> None:
    det = CollapseDetector(window=1)
    control = SimpleNamespace(should_training_stop=False)
    det.on_log(None, SimpleNamespace(global_step=1), control, logs={"train_runtime": 3.0})
    assert not control.should_training_stop and det.series == {}


class FakeEngine:
    """Returns fixed completions per question (prompt = [user message])."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    def generate(self, prompts, params, samples=None):
        return [Group(sample=Sample(prompt_id=str(i), question=p[-1]["content"]), prompt=p,
                      completions=self.answers[p[-1]["content"]]) for i, p in enumerate(prompts)]


def _dataset():
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt_id": "a", "question": "q1", "answer": "4"},
        {"prompt_id": "b", "question": "q2", "answer": "9"},
        {"prompt_id": "c", "question": "q3", "answer": "1"},
    ])


def test_offline_labels_frozen_with_hidden_gold() -> None:
    from rlpost.rollout.sampling import SamplingSettings

    engine = FakeEngine({"q1": ["4", "4.0", "5", "x"], "q2": ["8", "8", "8", "9"], "q3": ["1", "2", "3", "4"]})
    ds = _dataset()
    labels = compute_base_labels(engine, ds, lambda row: [{"role": "user", "content": row["question"]}],
                                 SamplingSettings(n=4), min_agreement=0.5)
    assert labels == [("4", 2 / 3), ("8", 0.75), (None, 0.25)]
    frozen = attach_labels(ds, labels, freeze=True)
    assert frozen["answer"] == ["4", "8", None] and frozen["gold_answer"] == ["4", "9", "1"]
    assert frozen["agreement"] == [2 / 3, 0.75, 0.25]
    assert label_accuracy(frozen["answer"], frozen["gold_answer"]) == {"labeled_fraction": 2 / 3,
                                                                       "label_accuracy": 0.5}
    kept = attach_labels(ds, labels, freeze=False)
    assert kept["answer"] == ["4", "9", "1"] and "gold_answer" not in kept.column_names


def test_base_labels_need_several_samples() -> None:
    from rlpost.rollout.sampling import SamplingSettings

    with pytest.raises(ConfigError, match="k=1"):
        compute_base_labels(FakeEngine({}), _dataset(), lambda r: [], SamplingSettings(n=1))


def test_curriculum_selection() -> None:
    assert select_by_agreement([0.2, 0.9, 0.5, 0.9, 0.1], keep_fraction=0.4) == [1, 3]
    assert select_by_agreement([0.2, 0.9, 0.5], keep_fraction=1.0) == [1, 2, 0]
    with pytest.raises(ConfigError, match="keep_fraction"):
        select_by_agreement([0.5], keep_fraction=0.0)


def test_split_validation_uses_gold_rows_only() -> None:
    from datasets import Dataset

    ds = Dataset.from_list([{"prompt_id": str(i), "question": f"q{i}", "answer": None if i % 2 else str(i)}
                            for i in range(10)])
    train, val = split_validation(ds, 3, seed=0)
    assert len(val) == 3 and all(a is not None for a in val["answer"])
    assert len(train) == 7 and not set(train["prompt_id"]) & set(val["prompt_id"])
    with pytest.raises(DataError, match="val_size=5"):
        split_validation(ds, 5)


def test_early_stopping_keeps_and_restores_the_best_weights(monkeypatch, tmp_path) -> None:
    import torch

    import rlpost.eval.tasks.math_qa
    from rlpost.methods.grpo.guards.early_stopping import EarlyStopping

    scores = iter([0.5, 0.7, 0.6, 0.4])
    monkeypatch.setattr(rlpost.eval.tasks.math_qa, "evaluate_model", lambda *a, **k: {"accuracy": next(scores)})
    model = torch.nn.Linear(2, 1)
    es = EarlyStopping(eval_steps=1, patience=2)
    es.context = {"val_ds": None, "template": None, "eval_cfg": None, "run_dir": tmp_path, "seed": 0}
    control = SimpleNamespace(should_training_stop=False)
    es.on_train_begin(None, SimpleNamespace(global_step=0), control, model=model)
    weights_at = {}
    for step in (1, 2, 3):
        with torch.no_grad():
            model.weight.fill_(float(step))
        weights_at[step] = model.weight.clone()
        es.on_step_end(None, SimpleNamespace(global_step=step), control, model=model)
        if control.should_training_stop:
            break
    assert step == 3 and es.stopped_early and es.best == (1, 0.7)
    es.on_train_end(None, SimpleNamespace(global_step=3), control, model=model)
    assert torch.equal(model.weight, weights_at[1])
    report = (tmp_path / "guards" / "early_stopping.json").read_text()
    assert '"best_step": 1' in report and '"restored_best": true' in report


@pytest.mark.parametrize(("overrides", "expect"), [
    ([], "auto"),
    (["guards=srt"], "auto"),  # validation accuracy decides, the entropy test is off
    (["guards=collapse"], "false"),  # the entropy test needs the entropy of every completion
    (["guards=collapse", "guards.collapse.entropy_drop=null"], "auto"),
    (["guards=collapse", "algo.skip_zero_advantage=true"], "true"),
    (["algo.skip_zero_advantage=false"], "false"),
])
def test_skipping_zero_advantage_rows_yields_to_the_entropy_test(overrides, expect) -> None:
    from rlpost.methods.grpo.guards.setup import skip_zero_advantage_setting
    from tests.conftest import compose_recipe

    cfg = compose_recipe("grpo", overrides)
    assert skip_zero_advantage_setting(cfg.algo, cfg.get("guards")) == expect


def test_early_stopping_state_survives_a_resume(monkeypatch, tmp_path) -> None:
    """What EarlyStopping writes into checkpoint-N is what a run resumed from checkpoint-N starts with."""
    import torch

    import rlpost.eval.tasks.math_qa
    from rlpost.methods.grpo.guards.early_stopping import EarlyStopping

    scores = iter([0.5, 0.7, 0.6])
    monkeypatch.setattr(rlpost.eval.tasks.math_qa, "evaluate_model", lambda *a, **k: {"accuracy": next(scores)})
    args, control = SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(should_training_stop=False)
    model = torch.nn.Linear(2, 1)
    es = EarlyStopping(eval_steps=1, patience=5)
    es.context = {"val_ds": None, "template": None, "eval_cfg": None, "run_dir": tmp_path, "seed": 0}
    es.on_train_begin(args, SimpleNamespace(global_step=0), control, model=model)
    for step in (1, 2):
        with torch.no_grad():
            model.weight.fill_(float(step))
        es.on_step_end(args, SimpleNamespace(global_step=step), control, model=model)
    (tmp_path / "checkpoint-2").mkdir()
    es.on_save(args, SimpleNamespace(global_step=2), control)
    resumed = EarlyStopping(eval_steps=1, patience=5)
    resumed.context = es.context
    monkeypatch.setattr(rlpost.eval.tasks.math_qa, "evaluate_model",
                        lambda *a, **k: pytest.fail("re-evaluated on resume"))
    resumed.on_train_begin(args, SimpleNamespace(global_step=2), control, model=model)
    assert resumed.history == [(0, 0.5), (1, 0.7), (2, 0.6)] and resumed.best == (1, 0.7) and resumed.bad_evals == 1
    assert torch.equal(resumed.best_state["weight"], torch.full((1, 2), 1.0))
    resumed.on_train_end(args, SimpleNamespace(global_step=2), control, model=model)
    assert torch.equal(model.weight, torch.full((1, 2), 1.0))  # the best weights of step 1, from the checkpoint


def test_collapse_series_survives_a_resume(tmp_path) -> None:
    args, control = SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(should_training_stop=False)
    detector = CollapseDetector(window=2)
    for share in (0.5, 0.6):
        detector.on_log(args, SimpleNamespace(global_step=1), control, logs={SHARE_KEY: share, "entropy": 1.0})
    (tmp_path / "checkpoint-2").mkdir()
    detector.on_save(args, SimpleNamespace(global_step=2), control)
    resumed = CollapseDetector(window=2)
    resumed.on_train_begin(args, SimpleNamespace(global_step=2), control)
    assert resumed.series == {SHARE_KEY: [0.5, 0.6], "entropy": [1.0, 1.0]} and resumed.reason is None


@pytest.mark.parametrize(("overrides", "metric"), [
    (["reward=self_consistency"], None),  # the pseudo-reward rises during collapse: no best checkpoint
    (["reward=accuracy", "guards=offline_labels"], None),  # accuracy against frozen base-model labels
    (["reward=self_consistency", "guards=srt"], "validation_accuracy"),
    (["reward=accuracy"], "reward"),  # gold reward: trainer.metric_for_best_model
])
def test_best_checkpoint_is_never_ranked_by_a_pseudo_reward(tmp_path, overrides, metric) -> None:
    import json

    from rlpost.checkpoint.commit import COMPLETE_MARKER, commit_callback
    from rlpost.methods.grpo.guards.early_stopping import EarlyStopping
    from rlpost.methods.grpo.guards.setup import checkpoint_ranking
    from rlpost.rewards.build import build_rewards
    from tests.conftest import compose_recipe

    cfg = compose_recipe("grpo", overrides)
    early = EarlyStopping(metric="accuracy")
    early.history = [(1, 0.6), (2, 0.4), (3, 0.3)]  # validation falls while the reward rises
    callbacks = [early] if cfg.guards.early_stopping else []
    args = SimpleNamespace(output_dir=str(tmp_path), save_total_limit=1, metric_for_best_model="reward",
                           greater_is_better=True)
    callback = commit_callback(args, checkpoint_ranking(cfg.trainer, cfg.guards, callbacks,
                                                        build_rewards(cfg.reward)[0]))
    for step, reward in [(1, 0.2), (2, 0.9), (3, 0.5), (4, 0.4)]:
        (tmp_path / f"checkpoint-{step}").mkdir()
        callback.on_log(args, None, None, logs={"reward": reward})
        callback.on_save(args, SimpleNamespace(global_step=step, is_world_process_zero=True), None)
    kept = sorted(int(p.name.split("-")[1]) for p in tmp_path.glob("checkpoint-*"))
    marker = json.loads((tmp_path / "checkpoint-4" / COMPLETE_MARKER).read_text())
    assert marker["metric"] == metric
    assert kept == {None: [4], "validation_accuracy": [1, 4], "reward": [2, 4]}[metric]


def labelling(cfg) -> dict:
    """The keyword arguments methods/grpo/pipeline.py hands label_with_base_model (through apply_guards)."""
    return {"sampling_cfg": cfg.sampling, "rollout_cfg": cfg.get("rollout"), "eval_cfg": cfg.eval,
            "answer_format": cfg.data.get("answer_format"), "seed": cfg.seed, "run_dir": cfg.get("run_dir")}


@pytest.mark.parametrize("group", ["offline_labels", "curriculum"])
def test_base_labels_cover_the_whole_training_set_by_default(monkeypatch, tmp_path, caplog, group) -> None:
    import json
    import logging

    import torch
    from datasets import Dataset

    import rlpost.rollout.hf
    from rlpost.methods.grpo.guards.setup import label_with_base_model
    from tests.conftest import compose_recipe

    cfg = compose_recipe("grpo", ["reward=accuracy", f"guards={group}", f"run_dir={tmp_path}"])
    assert cfg.guards.base_labels.max_rows is None
    rows = [{"prompt_id": str(i), "question": f"q{i}", "answer": str(i % 7)} for i in range(300)]
    answers = {r["question"]: [r["answer"]] * 8 for r in rows}
    monkeypatch.setattr(rlpost.rollout.hf, "HFEngine", lambda *a, **k: FakeEngine(answers))
    template = lambda row: [{"role": "user", "content": row["question"]}]  # noqa: E731

    def label():
        return label_with_base_model(cfg.guards.base_labels, torch.nn.Linear(1, 1), None, template,
                                     Dataset.from_list(rows), [], **labelling(cfg))

    with caplog.at_level(logging.INFO, logger="rlpost.methods.grpo.guards.setup"):
        labelled = label()
    assert len(labelled) == 300
    assert "labelling 300 of 300 training rows" in caplog.text
    cfg.guards.base_labels.max_rows = 40
    with caplog.at_level(logging.INFO, logger="rlpost.methods.grpo.guards.setup"):
        labelled = label()
    assert len(labelled) == 40
    assert "guards.base_labels.max_rows=40: labelling and training on the first 40 of 300" in caplog.text
    assert json.loads((tmp_path / "guards" / "base_labels.json").read_text())["rows"] == 40  # report in run_dir
    cfg.guards.base_labels.max_rows = 0
    with pytest.raises(ConfigError, match="guards.base_labels.max_rows=0"):
        label()


def test_guards_ask_the_built_reward_whether_it_votes() -> None:
    """A reward that votes says so (``votes = True``); its class name or ``_target_`` string is never read."""
    from rlpost.methods.grpo.guards.setup import trains_on_pseudo_reward, votes
    from rlpost.rewards.build import build_rewards
    from tests.conftest import compose_recipe

    sc = compose_recipe("grpo", ["reward=self_consistency"])
    assert votes(build_rewards(sc.reward)[0]) and not votes(build_rewards(compose_recipe("grpo").reward)[0])

    class Renamed:  # a voting reward under any name or path
        votes = True

    assert votes([Renamed()]) and trains_on_pseudo_reward(None, [Renamed()])
    assert not trains_on_pseudo_reward({"base_labels": None}, [lambda *a, **k: []])
