"""TALLRec-style LoRA SFT for yes/no recommendation, with AUC model selection, inside the pipeline skeleton.

Stages: load policy -> few-shot train sample + valid/test rows -> test AUC before (zero-shot) -> trl.SFTTrainer
with LoRA, loss on the answer only, valid AUC every ``eval.callback.eval_steps`` with early stopping, best adapter
saved -> test AUC of the best adapter (``before`` / ``after`` in the results, rlpost.eval.tasks.yes_no; the ``sft``
section holds ``num_train``, ``best_step``, ``best_valid_auc``, ``valid_history``). Artifacts in ``run_dir``:
``adapter_best/``, ``adapter_last/``, ``metrics.json``; committed checkpoints in ``checkpoints/`` (re-running the
same command resumes from the newest one, AUC history and best adapter included).
Export a merged model with ``python -m rlpost.runtime.adapters run_dir/adapter_best OUT``.

Launch: ``python -m rlpost.train --config-name sft`` or a recipe, e.g. ``--config-name sft_smollm2_tallrec_movie``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from rlpost.checkpoint.commit import commit_callback
from rlpost.checkpoint.resume import run_trainer
from rlpost.data.sources.tallrec import to_prompt_completion
from rlpost.eval.tasks.registry import eval_kind
from rlpost.eval.tasks.yes_no import score_rows
from rlpost.pipeline import Evaluator, Method, Run, Trained, run_pipeline
from rlpost.runtime.adapters import restore_adapter
from rlpost.runtime.model import build_peft, load_policy
from rlpost.runtime.trl_args import build_trl_args

logger = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """LoRA SFT on ``cfg.data`` (TALLRec format); returns test metrics before and after plus training facts."""
    return run_pipeline(cfg, METHOD)


def setup(run: Run) -> Evaluator:
    """Trainer arguments, policy, splits, prompt rows; the evaluator scores the test split with ``eval.scorer``."""
    cfg, s = run.cfg, run.state
    kind = eval_kind(cfg.eval, ("yes_no",), "SFT (its valid AUC needs the scorer)")
    s["args"] = build_trl_args(cfg.trainer)
    s["model"], s["tokenizer"] = load_policy(cfg.model)
    s["splits"] = splits = instantiate(cfg.data.splits, seed=cfg.seed)
    s["prompt"], s["scorer"] = instantiate(cfg.data.prompt), instantiate(cfg.eval.scorer)
    s["train"] = to_prompt_completion(splits["train"], s["prompt"], s["tokenizer"])
    # the validation/test AUC must read the first token the answers are trained on
    s["scorer"].check_targets(s["tokenizer"], [{**r, "label": x["label"]}
                                               for r, x in zip(s["train"], splits["train"], strict=True)])
    test = to_prompt_completion(splits["test"], s["prompt"], s["tokenizer"])

    def evaluate(policy: Any, out_dir: Path) -> dict[str, float]:
        return score_rows(s["scorer"], s["model"] if policy is None else policy, s["tokenizer"], test,
                          splits["test"], "test")

    return Evaluator(kind, evaluate)


def train(run: Run) -> Trained:
    """SFTTrainer with the valid-AUC callback; resumes; the best adapter goes back into the model."""
    from datasets import Dataset
    from trl import SFTTrainer

    cfg, s, args = run.cfg, run.state, run.state["args"]
    valid = to_prompt_completion(s["splits"]["valid"], s["prompt"], s["tokenizer"])
    callback = instantiate(cfg.eval.callback, scorer=s["scorer"], tokenizer=s["tokenizer"],
                           prompts=[r["prompt"] for r in valid], labels=[r["label"] for r in s["splits"]["valid"]],
                           save_dir=run.run_dir / "adapter_best", log_fn=run.tracker.log)
    trainer = SFTTrainer(model=s["model"], args=args, processing_class=s["tokenizer"],
                         peft_config=build_peft(cfg.get("peft")), train_dataset=Dataset.from_list(s["train"]),
                         callbacks=[callback, commit_callback(args)])  # AUC state goes into each checkpoint first
    start = time.perf_counter()
    run_trainer(trainer, args.output_dir, run.fingerprint, final_dir=run.run_dir / "adapter_last")  # resumes
    runtime_s = time.perf_counter() - start
    if callback.best_step >= 0:
        restore_adapter(trainer.model, run.run_dir / "adapter_best")
    return Trained(trainer.model, {"steps": trainer.state.global_step, "runtime_s": runtime_s},
                   {"num_train": len(s["splits"]["train"]), "best_step": callback.best_step,
                    "best_valid_auc": callback.best_auc, "valid_history": callback.history})


METHOD = Method("sft", setup, train)
