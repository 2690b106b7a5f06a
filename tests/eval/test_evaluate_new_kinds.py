"""rlpost-eval eval=diversity (the numbers DivPO's own evaluation gives) and eval=icl_probe (the probe curves),
in process on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import pipeline_cfg

pytestmark = pytest.mark.integration
TALLREC = Path(__file__).resolve().parents[1] / "assets" / "tallrec"
POOLS = ["eval.k=4", "eval.sampling.max_new_tokens=8", "eval.embedding_spread=false", "reward=length"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_diversity_matches_divpo_evaluation(tmp_path, tiny_model_dir):
    from hydra.utils import instantiate

    from rlpost.data.build import build_datasets
    from rlpost.eval.results import format_section
    from rlpost.evaluate import run
    from rlpost.methods.divpo.pipeline import Task, evaluate
    from rlpost.rewards.build import build_rewards

    model = f"model.path={tiny_model_dir}"
    cfg = pipeline_cfg("evaluate", [model, "eval=diversity", "data=persona", "eval.batch_size=16", *POOLS],
                       tmp_path / "eval")
    metrics = run(cfg)
    assert {"unique/answer", "unique/mean_attribute", "entropy/first_name", "distinct_1", "quality/valid_rate",
            "quality/mean_reward"} <= set(metrics) and metrics["quality/mean_reward"] < 0  # shorter is better
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text()) == metrics
    pools = read_jsonl(tmp_path / "eval" / "pools.jsonl")
    assert len(pools) == 1 and len(pools[0]["completions"]) == 4 and len(pools[0]["rewards"]) == 4
    line = format_section("diversity", "eval", metrics)
    assert line.startswith("eval: compression_ratio ")
    assert f"quality/mean_reward {metrics['quality/mean_reward']:.3f}" in line

    dcfg = pipeline_cfg("divpo", [model, "algo.generation_batch_size=16", *POOLS], tmp_path / "divpo")
    task = Task(instantiate(dcfg.data.template), *build_rewards(dcfg.reward), None, list(dcfg.data.attribute_keys))
    divpo = evaluate(dcfg, task, None, build_datasets(dcfg.data, dcfg.seed)[1], tmp_path / "divpo")
    assert divpo == metrics
    assert read_jsonl(tmp_path / "divpo" / "pools.jsonl") == pools


def test_icl_probe_gives_a_point_per_setting_and_k(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlpost.data.sources.tallrec import load_tallrec
    from rlpost.eval.results import format_section
    from rlpost.eval.tasks.icl_probe import probe, sample_queries
    from rlpost.evaluate import run
    from rlpost.rollout.label_scores import YesNoScorer

    cfg = pipeline_cfg("evaluate", [
        f"model.path={tiny_model_dir}", "eval=icl_probe", "data=tallrec_movie", "eval.ks=[0,2]", "eval.n_queries=6",
        "eval.seed=3", "eval.scorer.multi_token=first",
        *[f"data.splits.{s}_path={TALLREC / f'{s}.json'}" for s in ("train", "valid", "test")]], tmp_path)
    metrics = run(cfg)
    points = read_jsonl(tmp_path / "points.jsonl")
    assert [(p["setting"], p["k"]) for p in points] == [("gold", 0), ("gold", 2), ("random", 2), ("abstract", 2)]
    assert all(p["n"] == 6 for p in points)
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert {k.rsplit("/", 1)[0] for k in metrics} == {"gold/k=0", "gold/k=2", "random/k=2", "abstract/k=2"}
    # the numbers of probe() called as bench/experiments/tallrec.py calls it
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    queries = sample_queries(load_tallrec(TALLREC / "test.json"), 6, 3)
    direct = probe(model, tok, YesNoScorer(multi_token="first"), load_tallrec(TALLREC / "train.json"), queries,
                   [0, 2], seed=3, task="test")
    assert [metrics[f"{p['setting']}/k={p['k']}/auc"] for p in direct] == [p["auc"] for p in points]
    assert [p["auc"] for p in direct] == [p["auc"] for p in points]
    assert format_section("icl_probe", "eval", metrics).startswith("eval: AUC gold k=0 ")
