"""Model-based quality rewards: a sequence-classification reward model, and an LLM judge read as P(Yes).

Both follow TRL's reward signature ``(prompts, completions, question=..., **columns) -> list[float]`` and plug into
``reward.funcs`` of any recipe (DivPO's ``score`` stage, GRPO). They score the *question* (the raw user turn, a
column every rlpost dataset has) and the completion text; the policy's rendered ``prompts`` are not re-used,
because the scoring model has its own chat template. Models load on the first call, so composing a config stays
cheap.

- :class:`RewardModelReward`: ``AutoModelForSequenceClassification`` (ArmoRM, Skywork-Reward, ...). The DivPO paper
  scores keyword stories with ArmoRM (arXiv 2501.18101). The reward is the logit of a one-output head, or
  the probability of ``label_index`` for a classifier head.
- :class:`JudgeReward`: any causal chat model asked a yes/no question about the completion. The reward is
  P(Yes) / (P(Yes) + P(No)) at the answer position, computed by the same
  :class:`~rlpost.rollout.label_scores.YesNoScorer`
  that TALLRec's AUC uses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rlpost.data.sources.tallrec import chat_prompt_text
from rlpost.errors import ConfigError
from rlpost.rewards.base import completion_text
from rlpost.runtime.modes import inference_mode

logger = logging.getLogger(__name__)

DEFAULT_JUDGE_TEMPLATE = (
    "Here is a request and a response.\n\nRequest: {question}\n\nResponse: {completion}\n\n"
    "Does the response fulfil the request well? Answer Yes or No."
)


def render_pair(tokenizer: Any, question: str, completion: str) -> str:
    """User question + assistant completion in the tokenizer's chat template (plain text if it has none)."""
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": completion}]
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return f"{question}\n\n{completion}"


def questions_for(prompts: Sequence[Any], question: Sequence[str] | None) -> list[str]:
    """The ``question`` column if the caller passed it, else the prompts as text (chat prompts: the user turns)."""
    if question is not None:
        return [str(q) for q in question]
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append(p)
        else:
            out.append("\n".join(m["content"] for m in p if m.get("role") == "user"))
    return out


class RewardModelReward:
    """Score (question, completion) with a sequence-classification reward model.

    Args:
        path: a local HF directory or hub id of an ``AutoModelForSequenceClassification`` checkpoint.
        batch_size: sequences per forward pass.
        max_length: truncate each rendered pair to this many tokens (from the left, so the completion is kept).
        label_index: for a head with several outputs, the class whose probability is the reward (default: the
            last one, "good"/"positive" in binary heads). Ignored for one-output heads (the logit is the reward).
        dtype: torch dtype to load the model in.

    Raises:
        ConfigError: ``path`` is not set, or ``label_index`` is outside the head.
    """

    __name__ = "reward_model"

    def __init__(self, path: str | None = None, batch_size: int = 8, max_length: int = 1024,
                 label_index: int | None = None, dtype: str = "float32") -> None:
        if not path:
            raise ConfigError("reward.funcs.<name>.path: set it to a sequence-classification reward model "
                              "(local directory or hub id)")
        self.path, self.batch_size, self.max_length = str(path), batch_size, max_length
        self.label_index, self.dtype = label_index, dtype
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> tuple[Any, Any]:
        """Load the model and tokenizer once; a missing model is a one-line ConfigError naming the path."""
        if self._model is None:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            try:
                tok = AutoTokenizer.from_pretrained(self.path)
                model = AutoModelForSequenceClassification.from_pretrained(self.path,
                                                                           dtype=getattr(torch, self.dtype))
            except OSError as err:
                raise ConfigError(f"reward model path={self.path!r} could not be loaded ({err})") from err
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            model.config.pad_token_id = tok.pad_token_id
            n = model.config.num_labels
            if n > 1 and self.label_index is not None and not -n <= self.label_index < n:
                raise ConfigError(f"reward model label_index={self.label_index} is outside its {n} labels")
            self._model, self._tokenizer = model.eval(), tok
        return self._model, self._tokenizer

    def __call__(self, prompts: list[Any], completions: list[Any], question: Sequence[str] | None = None,
                 **_: Any) -> list[float]:
        import torch

        model, tok = self.load()
        texts = [render_pair(tok, q, completion_text(c))
                 for q, c in zip(questions_for(prompts, question), completions, strict=True)]
        scores: list[float] = []
        with inference_mode(model, tok, padding_side="right", truncation_side="left"):
            for start in range(0, len(texts), self.batch_size):
                enc = tok(texts[start:start + self.batch_size], return_tensors="pt", padding=True, truncation=True,
                          max_length=self.max_length, add_special_tokens=False)
                logits = model(**{k: v.to(model.device) for k, v in enc.items()}).logits.float()
                if logits.shape[-1] == 1:
                    scores.extend(logits[:, 0].tolist())
                else:
                    index = -1 if self.label_index is None else self.label_index
                    scores.extend(torch.softmax(logits, dim=-1)[:, index].tolist())
        return scores


class JudgeReward:
    """LLM-as-judge reward: P(positive) of a causal model asked ``template`` about each completion.

    Args:
        model: a ``model`` config node (``conf/model/*``: ``path`` or the bundled GGUF); by default the recipe's
            own model (``${model}``), i.e. the policy's base weights, frozen, judge themselves. Set
            ``reward.funcs.judge.model.path=...`` for a separate judge.
        template: the judge's user message, with ``{question}`` and ``{completion}``.
        positive / negative: the answer words compared at the answer position.
        batch_size, multi_token: passed to :class:`~rlpost.rollout.label_scores.YesNoScorer`.

    Raises:
        ConfigError: the template lacks ``{completion}``, or the label words are not single tokens.
    """

    __name__ = "judge"

    def __init__(self, model: Any, template: str = DEFAULT_JUDGE_TEMPLATE, positive: str = "Yes",
                 negative: str = "No", batch_size: int = 8, multi_token: str = "error") -> None:
        from rlpost.rollout.label_scores import YesNoScorer

        if "{completion}" not in template:
            raise ConfigError("reward.funcs.judge.template must contain {completion} (and usually {question})")
        self.model_cfg, self.template = model, template
        self.scorer = YesNoScorer(positive, negative, batch_size=batch_size, multi_token=multi_token)
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> tuple[Any, Any]:
        if self._model is None:
            from rlpost.runtime.model import load_policy

            model, tok = load_policy(self.model_cfg)
            self._model, self._tokenizer = model.eval(), tok
        return self._model, self._tokenizer

    def judge_prompts(self, tokenizer: Any, questions: Sequence[str], completions: Sequence[Any]) -> list[str]:
        """The judge's rendered prompts (chat template + generation prompt), one per completion."""
        out = []
        for q, c in zip(questions, completions, strict=True):
            user = self.template.format(question=q, completion=completion_text(c))
            if getattr(tokenizer, "chat_template", None):
                out.append(chat_prompt_text(tokenizer, [{"role": "user", "content": user}]))
            else:
                out.append(user + "\nAnswer:")
        return out

    def __call__(self, prompts: list[Any], completions: list[Any], question: Sequence[str] | None = None,
                 **_: Any) -> list[float]:
        model, tok = self.load()
        from rlpost.rollout.label_scores import sigmoid

        judged = self.judge_prompts(tok, questions_for(prompts, question), completions)
        return [sigmoid(m) for m in self.scorer.score(model, tok, judged, desc="judge")]
