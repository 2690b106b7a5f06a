"""TALLRec-style LoRA SFT for yes/no recommendation, with AUC model selection.

Stages: load policy -> few-shot train sample + valid/test rows -> test AUC before (zero-shot) -> trl.SFTTrainer
with LoRA, loss on the answer only, valid AUC every ``eval.callback.eval_steps`` with early stopping, best adapter
saved -> test AUC of the best adapter (``test_before`` / ``test_after`` in the results). Artifacts in ``run_dir``:
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
from rlpost.distributed import is_main
from rlpost.eval.binary import binary_metrics
from rlpost.io import write_json
from rlpost.runtime.adapters import restore_adapter
from rlpost.runtime.model import build_peft, load_policy
from rlpost.runtime.trl_args import build_trl_args
from rlpost.runtime.zero3 import full_parameters
from rlpost.tracking import start_run

logger = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """LoRA SFT on ``cfg.data`` (TALLRec format); returns test metrics before and after plus training facts."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTTrainer

    set_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    tracker = start_run(cfg.logger, cfg.run_dir, cfg.run_name, config=cfg)
    args = build_trl_args(cfg.trainer)
    model, tokenizer = load_policy(cfg.model)
    splits = instantiate(cfg.data.splits, seed=cfg.seed)
    prompt, scorer = instantiate(cfg.data.prompt), instantiate(cfg.eval.scorer)
    train = to_prompt_completion(splits["train"], prompt, tokenizer)
    # the validation/test AUC must read the first token the answers are trained on
    scorer.check_targets(tokenizer, [{**r, "label": s["label"]} for r, s in zip(train, splits["train"], strict=True)])
    test = to_prompt_completion(splits["test"], prompt, tokenizer)
    results: dict[str, Any] = {}
    if cfg.eval.before:
        results["test_before"] = score_rows(scorer, model, tokenizer, test, splits["test"], "test")
        tracker.log({f"eval_before/{k}": v for k, v in results["test_before"].items()})
    valid = to_prompt_completion(splits["valid"], prompt, tokenizer)
    callback = instantiate(cfg.eval.callback, scorer=scorer, tokenizer=tokenizer, prompts=[r["prompt"] for r in valid],
                           labels=[r["label"] for r in splits["valid"]], save_dir=run_dir / "adapter_best",
                           log_fn=tracker.log)
    trainer = SFTTrainer(model=model, args=args, processing_class=tokenizer, peft_config=build_peft(cfg.get("peft")),
                         train_dataset=Dataset.from_list(train),
                         callbacks=[callback, commit_callback(args)])  # AUC state goes into each checkpoint first
    start = time.perf_counter()
    run_trainer(trainer, cfg, args.output_dir, final_dir=run_dir / "adapter_last")  # resumes a killed run
    train_s = time.perf_counter() - start
    if callback.best_step >= 0:
        restore_adapter(trainer.model, run_dir / "adapter_best")
    results["test_after"] = score_rows(scorer, trainer.model, tokenizer, test, splits["test"], "test")
    results["train"] = {"steps": trainer.state.global_step, "train_time_s": train_s, "num_train": len(splits["train"]),
                        "best_step": callback.best_step, "best_valid_auc": callback.best_auc,
                        "peak_memory_mb": peak_memory_mb(), "valid_history": callback.history}
    tracker.log({f"eval_after/{k}": v for k, v in results["test_after"].items()})
    if is_main():
        write_json(run_dir / "metrics.json", results)
    for stage in ("test_before", "test_after"):
        if stage in results:
            logger.info("%s: AUC %.4f, accuracy %.4f, log-loss %.4f (n=%d)", stage, results[stage]["auc"],
                        results[stage]["accuracy"], results[stage]["log_loss"], results[stage]["n"])
    tracker.summary({f"{s}/{k}": v for s in ("test_before", "test_after") for k, v in results.get(s, {}).items()})
    tracker.finish()
    return results


def score_rows(scorer: Any, model: Any, tokenizer: Any, rows: list[dict[str, str]], labelled: list[dict[str, Any]],
               split: str) -> dict[str, float]:
    """AUC / accuracy / log-loss of ``scorer`` on prompt rows with gold labels from ``labelled``, plus ``seconds``."""
    start = time.perf_counter()
    with full_parameters(model):  # ZeRO-3: whole weights, scored outside the engine
        scores = scorer.score(model, tokenizer, [r["prompt"] for r in rows], desc=f"{split} AUC")
    return {**binary_metrics([r["label"] for r in labelled], scores, split=split, logits=True),
            "seconds": time.perf_counter() - start}


def peak_memory_mb() -> float:
    """Peak GPU memory allocated (CUDA) or the process's peak resident memory (CPU), in MiB."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
