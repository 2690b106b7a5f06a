"""rlpost-eval in process (rlpost.evaluate.run) with each task kind it serves, on the tiny model and tiny assets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rlpost.errors import ConfigError
from tests.conftest import ROOT, pipeline_cfg

pytestmark = pytest.mark.integration
TALLREC = Path(__file__).resolve().parents[1] / "assets" / "tallrec"
TALLREC_DATA = ["data=tallrec_movie", *[f"data.splits.{s}_path={TALLREC / f'{s}.json'}"
                                        for s in ("train", "valid", "test")]]


def test_every_eval_option_states_its_kind():
    """Every conf/eval option names a kind of the registry, and every kind has its option."""
    from rlpost.eval.tasks.registry import KINDS

    stated = {p.stem: yaml.safe_load(p.read_text()).get("kind") for p in (ROOT / "conf" / "eval").glob("*.yaml")
              if p.stem != "eval_schema"}
    assert stated == {k: k for k in KINDS}


# the data (and reward) each kind's input check accepts; the task itself is replaced by a recorder
DISPATCH = {"math_qa": [], "instruction_following": ["data=ifeval"], "yes_no": TALLREC_DATA,
            "diversity": ["data=persona", "reward=length"], "icl_probe": TALLREC_DATA}


@pytest.mark.parametrize("kind", sorted(DISPATCH))
def test_each_kind_dispatches_to_its_task(kind, tmp_path, tiny_model_dir, monkeypatch):
    from importlib import import_module

    from rlpost.evaluate import run

    module = import_module(f"rlpost.eval.tasks.{'math_qa' if kind == 'instruction_following' else kind}")
    calls = []
    monkeypatch.setattr(module, "evaluate_task", lambda inputs: calls.append(inputs) or {"kind": inputs.eval_cfg.kind})
    cfg = pipeline_cfg("evaluate", [f"model.path={tiny_model_dir}", f"eval={kind}", *DISPATCH[kind]], tmp_path)
    assert run(cfg) == {"kind": kind} and len(calls) == 1
    assert (calls[0].reward_cfg is not None) == (kind == "diversity") and calls[0].out_dir == str(tmp_path)


@pytest.mark.parametrize(("overrides", "message"), [
    (["eval.kind=essays"], "eval.kind='essays' is not a task kind: choose one of math_qa, "),
    (["eval=none"], "eval.kind='none' evaluates nothing"),
    (["eval=diversity", "data=persona"], "eval=diversity scores quality with a reward: add reward="),
    (["eval=icl_probe"], "eval=icl_probe reads labelled yes/no rows from data.splits"),
    (["eval=yes_no"], "eval=yes_no scores the test split of data.splits"),
    (["eval=icl_probe", *TALLREC_DATA, "eval.settings=[gold,shuffled]"], "eval.settings=.*must be among"),
])
def test_bad_kind_or_inputs_is_one_line_before_loading(overrides, message, tmp_path, monkeypatch):
    import rlpost.runtime.model
    from rlpost.evaluate import run

    monkeypatch.setattr(rlpost.runtime.model, "load_policy", lambda *a, **k: pytest.fail("model loaded"))
    cfg = pipeline_cfg("evaluate", overrides, tmp_path)
    with pytest.raises(ConfigError, match=message) as err:
        run(cfg)
    assert "\n" not in str(err.value)


def test_math_qa(tmp_path, tiny_model_dir):
    from rlpost.evaluate import run

    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(3)))
    cfg = pipeline_cfg("evaluate", [f"model.path={tiny_model_dir}", "data=file", f"data.path={data}", "eval.k=2",
                                    "eval.sampling.max_new_tokens=4"], tmp_path)
    metrics = run(cfg)
    assert cfg.eval.kind == "math_qa" and metrics["n_questions"] == 3 and "maj@2" in metrics
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics


def test_yes_no_on_a_tallrec_split(tmp_path, tiny_model_dir):
    from rlpost.eval.results import format_section
    from rlpost.evaluate import run

    cfg = pipeline_cfg("evaluate", [f"model.path={tiny_model_dir}", "eval=yes_no", *TALLREC_DATA,
                                    "data.splits.num_train=4", "eval.scorer.multi_token=first"], tmp_path)
    metrics = run(cfg)
    test_rows = json.loads((TALLREC / "test.json").read_text())
    assert cfg.eval.kind == "yes_no" and metrics["n"] == len(test_rows)
    assert 0.0 <= metrics["auc"] <= 1.0 and metrics["log_loss"] > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["auc"] == metrics["auc"]
    assert format_section("yes_no", "eval", metrics).startswith(f"eval: AUC {metrics['auc']:.4f}")
