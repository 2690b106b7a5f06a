"""bench.experiments.ifeval_grpo: evaluation sets, per-type training rates, hacking signals, table and plot."""

from __future__ import annotations

import argparse
import json

from bench.experiments.ifeval_grpo import (
    changes_lines,
    eval_sets,
    hacking_signals,
    main,
    prompt_changes,
    table,
    type_rates,
    write_plot,
)


def _metrics(p):
    m = dict.fromkeys(("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"), p)
    m.update({f"{k}_se": 0.02 for k in list(m)})
    m.update({"strict/punctuation:no_comma": p, "n/punctuation:no_comma": 66.0, "accuracy": p})
    return m


def _result(signals):
    return {"ifeval": {"before": _metrics(0.2), "after": _metrics(0.3)},
            "arith": {"before": {"accuracy": 0.435}, "after": {"accuracy": 0.42}},
            "train": {"steps": 10, "s_per_step": 5.0, "reward_first10": 0.3, "reward_last10": 0.5,
                      "length_first10": 100.0, "length_last10": 80.0, "peak_rss_mb": 3000.0},
            "settings": {"minutes": 30, "model": "m", "config_name": "c", "overrides": [], "date": "d",
                         "validation_only": False},
            "hacking_signals": signals, "plot": "x.png"}


def test_eval_sets_skip_ifeval_when_choosing_settings():
    args = argparse.Namespace(eval_tokens=256, val_size=100, arith_size=200, validation_only=True, ifeval_limit=None)
    assert set(eval_sets(args)) == {"validation", "arith"}
    args.validation_only, args.ifeval_limit = False, 8
    assert eval_sets(args)["ifeval"] == ["data=ifeval", "eval=instruction_following",
                                         "eval.sampling.max_new_tokens=256", "data.limit=8"]


def test_type_rates_first_and_last_window():
    steps = [{"if_rate/a": 0.0}, {"if_rate/a": 1.0, "if_rate/b": 0.5}, {"if_rate/a": 1.0}]
    assert type_rates(steps, window=2) == {"a": (0.0, 1.0), "b": (0.5, 0.5)}
    # a type drawn fewer than 2 x window times: halves, not the same values twice (every type of a 30-min run
    # was reported with first == last)
    steps = [{"if_rate/a": float(i >= 4)} for i in range(8)]
    assert type_rates(steps, window=20) == {"a": (0.0, 1.0)}


def test_hacking_signals_and_table(tmp_path):
    d = tmp_path / "eval_after_ifeval"
    d.mkdir()
    story = "Write a short story about a dragon who guards a library. Do not use any commas."
    recs = [{"question": "Say hi.", "response": "Say hi. hi"}, {"question": "Q", "response": ""},
            {"question": story, "response": "The old dragon curled around the shelves of the library and guarded "
                                            "every book from thieves"},
            {"question": story, "response": "*" * 200}]
    (d / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    signals = hacking_signals(tmp_path)
    after = signals.pop("ifeval_after")
    assert not signals
    assert {k: after[k] for k in ("empty", "under_10_words", "echoes_prompt", "mean_words")} == {
        "empty": 0.25, "under_10_words": 0.75, "echoes_prompt": 0.25, "mean_words": 5.0}
    # off topic: the blank reply and the asterisks; the story and the greeting echo are on topic
    assert after["off_topic"] == 0.5
    assert 0.0 < after["mean_cosine"] < 1.0
    signals = {"ifeval_after": after}
    r = _result(signals)
    md = table(r, "ifeval")
    assert "| ifeval | prompt_strict | 20.0% ± 2.0 | 30.0% ± 2.0 | +10.0 |" in md
    assert "| arithmetic | accuracy | 43.5% | 42.0% | -1.5 |" in md
    assert "| punctuation:no_comma | 20.0% | 30.0% | 66 |" in md
    write_plot(r["ifeval"], tmp_path / "p.png", "ifeval")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_rescore_recomputes_signals_from_saved_responses(tmp_path):
    out, work = tmp_path / "results", tmp_path / "runs"
    base = tmp_path / "base_run"  # --before-from: the base model's responses live in another run's folder
    for folder, response in ((work / "eval_after_ifeval", ""), (base / "eval_before_ifeval", "A")):
        folder.mkdir(parents=True)
        rec = {"prompt_id": "1", "question": "Q", "response": response, "prompt_strict": response == ""}
        (folder / "samples.jsonl").write_text(json.dumps(rec) + "\n")
    (work / "train").mkdir()
    (work / "train" / "log_history.json").write_text(json.dumps([{"step_time": 1.0, "if_rate/a": 0.0},
                                                                 {"step_time": 1.0, "if_rate/a": 1.0}]))
    result = _result({"ifeval_after": {"stale": 1}})
    result["settings"]["before_from"] = str(base)
    result["train"]["type_rates_first_last"] = {"a": [0.5, 0.5]}
    out.mkdir()
    (out / "result.json").write_text(json.dumps(result))
    main(["--rescore", "--out", str(out), "--work-dir", str(work)])
    result = json.loads((out / "result.json").read_text())
    assert result["hacking_signals"]["ifeval_before"]["empty"] == 0.0
    assert result["train"]["type_rates_first_last"] == {"a": [0.0, 1.0]}  # from the training log, not the old JSON
    assert result["hacking_signals"]["ifeval_after"]["empty"] == 1.0
    assert "stale" not in result["hacking_signals"]["ifeval_after"]
    assert result["ifeval"]["after"]["prompt_strict"] == 0.3  # the measured figures are kept
    assert '"off_topic": 1.0' in (out / "result.md").read_text()
    assert result["hacking_signals"]["ifeval_changes"] == {
        "gained": 1, "lost": 0, "gained_short": 1, "passing_short_before": 0, "passing_short_after": 1,
        "short_gains": [{"prompt_id": "1", "instructions": [], "prompt": "Q", "reply": ""}]}
    md = (out / "result.md").read_text()
    assert "ifeval: 1 prompts went from failing to passing (strict), 0 the other way; 1 of the 1 gained with a " \
           "reply under 10 words" in md
    assert "| 1 |  | Q |  |" in md  # the short gain listed for a reader to judge
    assert "short_gains" not in md


def test_prompt_changes_pair_replies_by_prompt_id():
    long = "a reply that is long enough to count as an answer to the request"
    before = [{"prompt_id": i, "prompt_strict": ok, "response": long} for i, ok in
              (("a", False), ("b", False), ("c", True), ("d", True))]
    after = [{"prompt_id": "d", "prompt_strict": False, "response": long},   # lost
             {"prompt_id": "a", "prompt_strict": True, "response": "P.S. ok | fine\nbye",  # gained, short
              "question": "Reply. End with a P.S. " + "x" * 200,
              "instruction_id_list": ["detectable_content:postscript"]},
             {"prompt_id": "b", "prompt_strict": True, "response": long},     # gained
             {"prompt_id": "c", "prompt_strict": True, "response": "fine"},   # kept, now short
             {"prompt_id": "z", "prompt_strict": True, "response": "x"}]      # no base reply: not paired
    changes = prompt_changes(before, after)
    assert changes == {"gained": 2, "lost": 1, "gained_short": 1, "passing_short_before": 0, "passing_short_after": 2,
                       "short_gains": [{"prompt_id": "a", "instructions": ["detectable_content:postscript"],
                                        "prompt": ("Reply. End with a P.S. " + "x" * 200)[:100],
                                        "reply": "P.S. ok | fine\nbye"}]}
    lines = changes_lines({"ifeval_changes": changes})
    assert "| a | detectable_content:postscript | Reply. End with a P.S. xxx" in lines[-1]
    assert lines[-1].endswith("| P.S. ok \\| fine bye |")  # one line, the pipe escaped
