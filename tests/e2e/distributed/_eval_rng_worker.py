"""Run by torchrun with 2 processes: per-rank seeds as TRL sets them, a validation in between, then each rank
samples its half of one prompt's group. The halves must differ, and the validation must not move either RNG."""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

import torch
import torch.distributed as dist
from accelerate import Accelerator
from accelerate.utils import set_seed
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlpost.data.sources.arith import generate_arithmetic
from rlpost.data.templates import ChatTemplate
from rlpost.methods.grpo.guards.early_stopping import EarlyStopping


def main() -> None:
    Accelerator(cpu=True)  # the process group (gloo on CPU), as the trainer sets it up
    r = dist.get_rank()
    model_dir = os.environ["RLPOST_TEST_MODEL"]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(model_dir)
    set_seed(0, device_specific=True)  # TRL's GRPOTrainer: seed + process index, so ranks sample differently
    eval_cfg = OmegaConf.create({"kind": "math_qa", "k": 2,
                                 "sampling": {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4},
                                 "answer_format": "auto", "group_by": None, "batch_size": 8, "autocast_dtype": None})
    stopper = EarlyStopping(eval_steps=1, patience=10)
    stopper.context = {"val_ds": generate_arithmetic(4).to_list(), "template": ChatTemplate(), "eval_cfg": eval_cfg,
                       "run_dir": None, "seed": 0}
    state = torch.get_rng_state()
    stopper.on_step_end(None, SimpleNamespace(global_step=1), SimpleNamespace(should_training_stop=False),
                        model=model, processing_class=tok)  # the in-training validation
    assert stopper.history, "the validation did not run"
    rng_kept = bool(torch.equal(torch.get_rng_state(), state))
    # this rank's half of a group of 4 split over the 2 ranks, sampled the way TRL's transformers path does
    enc = tok.apply_chat_template([{"role": "user", "content": "What is 2 + 2?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0, num_return_sequences=2, max_new_tokens=12,
                         pad_token_id=tok.pad_token_id)
    half = out[:, enc["input_ids"].shape[1]:].tolist()
    halves = [None, None]
    dist.all_gather_object(halves, half)
    if r == 0:
        with open(os.path.join(os.environ["RLPOST_TEST_OUT"], "result.json"), "w") as fh:
            json.dump({"halves": halves}, fh)
    with open(os.path.join(os.environ["RLPOST_TEST_OUT"], f"rank{r}.json"), "w") as fh:
        json.dump({"rng_kept": rng_kept}, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
