"""EmbeddingRelevance: on-topic replies score high, constraint-only replies (seen as reward hacking) score 0."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError
from rlpost.rewards.relevance import EmbeddingRelevance

TASK = "Write a short story about a lighthouse keeper who finds a message in a bottle."
ON_TOPIC = ("The old lighthouse keeper walked along the rocks at dawn and found a green bottle. Inside was a "
            "message from a sailor lost at sea decades ago, asking whoever found it to keep the light burning.")
# the degenerate replies the first IFEval run's rule reward paid in full (docs/instruction_following.md)
HACKS = ["What's that?", "*" * 200, "Can you ask a question?", ""]


def test_on_topic_reply_scores_high_and_constraint_only_replies_score_zero() -> None:
    logged = {}
    scores = EmbeddingRelevance()(None, [ON_TOPIC, *HACKS], task=[TASK] * 5, log_metric=logged.__setitem__)
    assert scores[0] == 1.0
    assert scores[1:] == [0.0] * len(HACKS)
    assert 0.0 < logged["relevance/score"] < 1.0 and "relevance/cosine" in logged


def test_request_falls_back_to_question_then_prompt() -> None:
    relevance = EmbeddingRelevance()
    by_question = relevance(None, [ON_TOPIC, "What's that?"], question=[TASK, TASK])
    by_prompt = relevance([[{"role": "user", "content": TASK}]] * 2, [ON_TOPIC, "What's that?"])
    assert by_question == by_prompt == [1.0, 0.0]
    # a task column with blanks (rows from a file without one) is not used
    assert relevance(None, [ON_TOPIC], task=[""], question=[TASK]) == [1.0]


@pytest.mark.parametrize("floor, full", [(0.3, 0.3), (0.5, 0.1), (-2.0, 0.5)])
def test_bad_thresholds_name_the_keys(floor, full) -> None:
    with pytest.raises(ConfigError, match="relevance: need -1 <= floor < full <= 1"):
        EmbeddingRelevance(floor=floor, full=full)
