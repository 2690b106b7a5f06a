"""Client for a separate vLLM OpenAI-compatible server (``rollout=vllm_server`` with ``peft=lora``; docs/vllm.md).

Start the server with ``launch/vllm_server.sh`` (``python -m vllm.entrypoints.openai.api_server`` with runtime LoRA
loading). Every request has a bounded timeout, so a dead or slow server is a one-line :class:`ServerError`, never a
hang; :meth:`VLLMServerClient.wait_healthy` is the start-up health check; :meth:`VLLMServerClient.check_model` refuses
a server that serves another base model; :meth:`VLLMServerClient.load_adapter` makes an adapter version written by the
trainer (in a directory both sides see) the policy the server samples from.
"""

from __future__ import annotations

import time
from typing import Any

from rlpost.errors import UserError


class ServerError(UserError):
    """The vLLM server is unreachable, too slow, serves another model, or refused a request."""


class VLLMServerClient:
    """Bounded-timeout HTTP client for vLLM's OpenAI server.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000`` (``rollout.server_url``).
        timeout_s: limit for every request (``rollout.server_timeout_s``).
    """

    def __init__(self, base_url: str, timeout_s: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
        import requests

        url = f"{self.base_url}{path}"
        limit = timeout or self.timeout_s
        try:
            resp = requests.request(method, url, timeout=limit, **kwargs)
        except requests.Timeout as err:
            raise ServerError(f"vLLM server {url} did not answer within {limit:.0f} s (rollout.server_timeout_s)"
                              ) from err
        except requests.ConnectionError as err:
            raise ServerError(f"vLLM server {url} is unreachable (rollout.server_url={self.base_url}; is it "
                              f"running? launch/vllm_server.sh)") from err
        if resp.status_code != 200:
            raise ServerError(f"vLLM server {method} {path} answered {resp.status_code}: "
                              f"{' '.join(resp.text.split())[:300]}")
        try:
            return resp.json() if resp.content else None
        except ValueError:  # /v1/load_lora_adapter answers plain text
            return resp.text

    def wait_healthy(self, startup_timeout_s: float = 240.0, poll_s: float = 2.0) -> None:
        """Poll ``/health`` until it answers 200; ServerError after ``startup_timeout_s``."""
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                self._request("GET", "/health", timeout=min(10.0, startup_timeout_s))
                return
            except ServerError as err:
                if time.monotonic() >= deadline:
                    raise ServerError(f"vLLM server {self.base_url} not healthy after {startup_timeout_s:.0f} s "
                                      f"(rollout.server_startup_timeout_s): {err}") from err
            time.sleep(poll_s)

    def models(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/models")["data"]

    def check_model(self, expected: str) -> str:
        """The served base model's id; ServerError when it is not ``expected`` (compared by path or name)."""
        bases = [m for m in self.models() if not m.get("parent")]
        ids = [m["id"] for m in bases]

        def norm(x: str) -> str:
            return str(x).rstrip("/")

        if not any(norm(i) == norm(expected) or norm(m.get("root", "")) == norm(expected) for i, m in
                   zip(ids, bases, strict=True)):
            raise ServerError(f"vLLM server {self.base_url} serves {ids}, but the trainer trains {expected} "
                              f"(model.path); start the server on the same model")
        return ids[0]

    def load_adapter(self, name: str, path: str) -> None:
        """Load an adapter version at run time (server started with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``)."""
        try:
            self._request("POST", "/v1/load_lora_adapter", json={"lora_name": name, "lora_path": path})
        except ServerError as err:
            raise ServerError(f"vLLM server could not load the adapter in {path} (rollout.adapter_dir must be a "
                              f"directory the server can read): {err}") from err

    def unload_adapter(self, name: str) -> None:
        self._request("POST", "/v1/unload_lora_adapter", json={"lora_name": name})

    def complete(self, model: str, prompts: list[list[int]], n: int, max_tokens: int, temperature: float,
                 top_p: float = 1.0, top_k: int | None = None, seed: int | None = None) -> list[dict[str, Any]]:
        """Sample ``n`` completions per token-id prompt; per completion ``token_ids`` and per-token ``logprobs``
        (of the server's ``--logprobs-mode``; rlpost starts it with processed_logprobs), prompt-major order."""
        body = {"model": model, "prompt": prompts, "n": n, "max_tokens": max_tokens, "temperature": temperature,
                "top_p": top_p, "top_k": top_k or 0, "logprobs": 0, "return_token_ids": True,
                "skip_special_tokens": False}
        if seed is not None:
            body["seed"] = seed
        choices = sorted(self._request("POST", "/v1/completions", json=body)["choices"], key=lambda c: c["index"])
        return [{"token_ids": c["token_ids"], "logprobs": c["logprobs"]["token_logprobs"],
                 "prompt_token_ids": c.get("prompt_token_ids")} for c in choices]

    def prompt_logprobs(self, model: str, ids: list[int], start: int) -> list[float]:
        """Log-probs the served policy ``model`` gives to ``ids[start:]`` (teacher-forced)."""
        body = {"model": model, "prompt": [ids], "max_tokens": 1, "temperature": 1.0, "prompt_logprobs": 0}
        plp = self._request("POST", "/v1/completions", json=body)["choices"][0]["prompt_logprobs"]
        return [float(plp[i][str(ids[i])]["logprob"]) for i in range(start, len(ids))]
