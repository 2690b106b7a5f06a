"""reward=instruction_following: fraction / all, loose, per-type rates, errors, checker code, soft verifier."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlpost.errors import ConfigError
from rlpost.rewards.endpoint_judge import EndpointJudgeReward
from rlpost.rewards.instruction_following.reward import InstructionFollowingReward

IDS = [["punctuation:no_comma", "change_case:english_lowercase"]] * 3
KW = [json.dumps([{}, {}])] * 3
TEXTS = ["all lowercase and no commas here", "Capital but no commas here", "Capital, and a comma"]


class FakeVerifier:
    """Returns fixed P(Yes) values and records the questions it was asked."""

    def __init__(self, scores):
        self.scores, self.asked = scores, []

    def __call__(self, prompts, completions, question=None, **_):
        self.asked += list(question)
        return self.scores[: len(completions)]


def test_fraction_and_all_modes_and_per_type_rates():
    logged = {}
    frac = InstructionFollowingReward(mode="fraction")(None, TEXTS, instruction_id_list=IDS, kwargs=KW,
                                                       question=["q"] * 3, log_metric=logged.__setitem__)
    assert frac == [1.0, 0.5, 0.0]
    assert logged["if_rate/punctuation:no_comma"] == pytest.approx(2 / 3)
    assert logged["if_rate/change_case:english_lowercase"] == pytest.approx(1 / 3)
    assert logged["if/constraint_errors"] == 0.0
    assert InstructionFollowingReward(mode="all")(None, TEXTS, instruction_id_list=IDS, kwargs=KW,
                                                  question=["q"] * 3) == [1.0, 0.0, 0.0]


def test_loose_scoring_forgives_a_preamble_line():
    text = ["Sure, here it is:\nall lowercase here"]
    ids, kw = [["punctuation:no_comma", "change_case:english_lowercase"]], [[{}, {}]]
    assert InstructionFollowingReward()(None, text, instruction_id_list=ids, kwargs=kw) == [0.0]
    assert InstructionFollowingReward(loose=True)(None, text, instruction_id_list=ids, kwargs=kw) == [1.0]


def test_broken_constraints_score_zero_and_are_logged_once(caplog):
    reward = InstructionFollowingReward()
    ids = [["punctuation:no_comma", "made:up"]] * 2
    with caplog.at_level(logging.WARNING, logger="rlpost.rewards.instruction_following.reward"):
        out = reward(None, ["no commas", "no commas"], instruction_id_list=ids, kwargs=[None, None],
                     prompt_id=["p1", "p2"])
    assert out == [0.5, 0.5]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert "prompt p1, constraint 1 (made:up): ValueError: unknown instruction id 'made:up'" in lines[0]


def test_rows_without_constraints_abstain():
    assert InstructionFollowingReward()(None, ["x"], instruction_id_list=[[]], kwargs=["[]"]) == [None]


def test_checker_code_runs_in_the_sandbox_and_failures_score_zero():
    ok = "def check_following(instruction, response):\n    return response.endswith('!')\n"
    loop = "def check_following(instruction, response):\n    while True:\n        pass\n"
    reward = InstructionFollowingReward(sandbox={"timeout_s": 1.0, "memory_mb": 512})
    logged = {}
    out = reward(None, ["yes!", "no"], checker_code=[[ok, loop], [ok]], log_metric=logged.__setitem__)
    assert out == [0.5, 0.0]
    assert logged["if/constraint_errors"] == 1.0
    assert logged["if_rate/checker_code"] == pytest.approx(1 / 3)


def test_verif_combination_hard_times_soft_verdict():
    soft = [["formal tone"], ["formal tone"], []]
    verifier = FakeVerifier([0.9, 0.2])
    reward = InstructionFollowingReward(mode="fraction", verifier=verifier, combine="product")
    logged = {}
    out = reward(None, TEXTS, instruction_id_list=IDS, kwargs=KW, soft_constraints=soft, question=["Q"] * 3,
                 log_metric=logged.__setitem__)
    assert out == [1.0, 0.0, 0.0]  # 1.0 x yes, 0.5 x no, third row: no soft constraints -> hard score alone
    assert verifier.asked[0] == "Q\n\nConstraints the response must satisfy:\n- formal tone"
    assert logged["if/soft_verdict"] == 0.5
    probability = InstructionFollowingReward(verifier=FakeVerifier([0.9, 0.2]), combine="product",
                                             soft_verdict="probability")
    assert probability(None, TEXTS, instruction_id_list=IDS, kwargs=KW, soft_constraints=soft) == \
        pytest.approx([0.9, 0.1, 0.0])
    mean = InstructionFollowingReward(verifier=FakeVerifier([0.9, 0.2]), combine="mean")
    assert mean(None, TEXTS, instruction_id_list=IDS, kwargs=KW, soft_constraints=soft) == [1.0, 0.25, 0.0]
    soft_only = InstructionFollowingReward(verifier=FakeVerifier([0.9]))
    assert soft_only(None, ["x"], soft_constraints=[["be kind"]]) == [1.0]


def test_soft_constraints_without_a_verifier_is_a_config_error():
    with pytest.raises(ConfigError, match="verifier is null"):
        InstructionFollowingReward(combine="product")(None, ["x"], soft_constraints=[["be kind"]])
    with pytest.raises(ConfigError, match="mode='most'"):
        InstructionFollowingReward(mode="most")


class _Judge(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = body["messages"][0]["content"]
        if "SLOW" in content:
            time.sleep(2)
        reply = "Yes." if "GOOD" in content else "No"
        data = json.dumps({"choices": [{"message": {"content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_endpoint_judge_reads_yes_no_and_scores_timeouts_zero(caplog):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Judge)  # the judge sends its requests concurrently
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        judge = EndpointJudgeReward(base_url=f"http://127.0.0.1:{server.server_port}/v1", timeout_s=0.5)
        with caplog.at_level(logging.WARNING, logger="rlpost.rewards.endpoint_judge"):
            out = judge(None, ["GOOD answer", "bad answer", "GOOD but SLOW"], question=["q"] * 3)
        assert out == [1.0, 0.0, 0.0]
        assert judge.failures == 1 and "request failed" in caplog.text
    finally:
        server.shutdown()
    with pytest.raises(ConfigError, match="base_url"):
        EndpointJudgeReward()


class FakeGate:
    """Returns fixed scores in [0, 1] and records the columns it was given."""

    def __init__(self, scores):
        self.scores, self.seen = scores, []

    def __call__(self, prompts, completions, task=None, question=None, log_metric=None, **_):
        self.seen.append((list(completions), task, question))
        if log_metric is not None:
            log_metric("fake_gate/calls", float(len(self.seen)))
        return self.scores[: len(completions)]


def test_gate_multiplies_scored_rows_and_skips_abstaining_ones():
    gate = FakeGate([0.5, 0.0])
    logged = {}
    reward = InstructionFollowingReward(gate=gate)
    out = reward(None, ["all lowercase", "Upper", "no constraint"],
                 instruction_id_list=[["change_case:english_lowercase"]] * 2 + [[]], kwargs=["[{}]"] * 2 + ["[]"],
                 task=["t1", "t2", "t3"], question=["q1", "q2", "q3"], log_metric=logged.__setitem__)
    assert out == [0.5, 0.0, None]  # 1.0 x 0.5, 0.0 x 0.0, the row with no constraint still abstains
    assert gate.seen == [(["all lowercase", "Upper"], ["t1", "t2"], ["q1", "q2"])]  # the abstaining row is not sent
    assert logged["if/gate"] == pytest.approx((0.5 + 0.0) / 2)  # over the rows the gate scored
    assert logged["fake_gate/calls"] == 1.0  # the gate's own metrics (relevance/cosine, ...) reach the logger
    lowercase = [["change_case:english_lowercase"]]
    assert InstructionFollowingReward()(None, ["all lowercase"], instruction_id_list=lowercase,
                                        kwargs=["[{}]"]) == [1.0]  # no gate: unchanged
