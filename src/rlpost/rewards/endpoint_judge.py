"""An LLM judge behind an OpenAI-compatible chat endpoint (a vLLM or SGLang server, a hosted API), with timeouts.

The in-process judge is :class:`rlpost.rewards.model_based.JudgeReward`; this one sends the same kind of yes/no
question to ``{base_url}/chat/completions`` (VerIF, Peng et al. 2025, serves its verifier this way) and reads the
first word of the reply: ``positive`` -> 1.0, anything else -> 0.0. A request that times out or fails scores 0.0 and
is logged in one line (the run goes on); ``max_workers`` requests run at once.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rlpost.errors import ConfigError
from rlpost.rewards.base import completion_text
from rlpost.rewards.model_based import DEFAULT_JUDGE_TEMPLATE, questions_for

logger = logging.getLogger(__name__)


class EndpointJudgeReward:
    """Yes/No judge over HTTP.

    Args:
        base_url: the server's OpenAI-style root, e.g. ``http://localhost:8000/v1``.
        model: the model name the server expects.
        template: the judge's user message with ``{question}`` and ``{completion}``.
        positive: the answer word that means "yes".
        timeout_s: per-request timeout.
        max_workers: concurrent requests.
        api_key_env: environment variable holding a bearer token (unset = no header).
    """

    __name__ = "endpoint_judge"

    def __init__(self, base_url: str | None = None, model: str = "default", template: str = DEFAULT_JUDGE_TEMPLATE,
                 positive: str = "Yes", timeout_s: float = 30.0, max_workers: int = 8, max_tokens: int = 8,
                 api_key_env: str | None = None) -> None:
        if not base_url:
            raise ConfigError("reward.funcs.<name>.base_url: set it to the judge server's OpenAI-compatible root "
                              "(e.g. http://localhost:8000/v1)")
        if "{completion}" not in template:
            raise ConfigError("reward.funcs.<name>.template must contain {completion} (and usually {question})")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.template, self.positive = model, template, positive.strip().lower()
        self.timeout_s, self.max_workers, self.max_tokens = float(timeout_s), int(max_workers), int(max_tokens)
        self.api_key_env = api_key_env
        self.failures = 0

    def ask(self, content: str) -> float:
        """One request: 1.0 when the reply starts with the positive word, 0.0 otherwise or on failure."""
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": content}],
                           "temperature": 0.0, "max_tokens": self.max_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key_env and os.environ.get(self.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - configured URL
                reply = json.loads(response.read())["choices"][0]["message"]["content"] or ""
        except (urllib.error.URLError, TimeoutError, OSError, KeyError, IndexError, ValueError) as err:
            self.failures += 1
            logger.warning("endpoint judge %s: request failed (%s: %s); scored 0", self.url, type(err).__name__, err)
            return 0.0
        words = reply.strip().split()
        return float(bool(words) and words[0].strip(".,!:;*\"'").lower() == self.positive)

    def __call__(self, prompts: list[Any], completions: list[Any], question: Sequence[str] | None = None,
                 **_: Any) -> list[float]:
        contents = [self.template.format(question=q, completion=completion_text(c))
                    for q, c in zip(questions_for(prompts, question), completions, strict=True)]
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(pool.map(self.ask, contents))
