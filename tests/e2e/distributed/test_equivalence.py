"""Equivalence: 2 ranks x batch b == 1 rank x batch 2b == 1 rank x batch b x 2 accumulation steps.

Catches silent DDP and gradient-accumulation bugs (a wrong loss normalisation, a missed all-reduce, ranks seeing
the wrong data). SFT and DPO are run through rlpost's own pipelines with the commands users type
(``python -m rlpost.train --config-name sft|divpo``, under ``torchrun`` for 2 ranks): SFT is the TALLRec LoRA
pipeline on the tiny fixture data, DPO is the DivPO pipeline's ``train`` stage (``stages=[train]``, the documented
split launch) on fixed preference pairs written beforehand. The pseudo-label part of the same check is
``test_gather_votes.py``.

Settings that make exact equivalence the right expectation: fp32 (``trainer.bf16=false``), the tiny random model
(no dropout), LoRA dropout 0, a fixed seed, 2 steps over exactly one epoch (no partial batch, which accelerate
would pad on 2 ranks by repeating samples). Data order: the default random sampler is kept; accelerate replaces
it by a ``SeedableRandomSampler`` seeded with ``trainer.seed``, so the permutation is the same for every world
size, and rank r gets batch r of every ``world_size`` consecutive batches: the two rank batches of step k are the
1-rank batch k. A linear learning-rate schedule (lr differs between steps) makes a wrong step order visible.

Sensitivity: the optimiser is SGD and gradient clipping is off. With Adam the first update is ~lr*sign(grad) and
clipping rescales to a fixed norm, so both would hide a gradient that is off by a constant factor.

Tolerances (fp32): weights ``WEIGHT_ATOL``, logged loss ``LOSS_RTOL``. The runs differ only in summation order
(padding to a different length per micro-batch, gloo's all-reduce of two partial gradients); measured here: max |dw|
2e-8 (SFT LoRA) and 3e-8 (DPO, full model; 1.5e-7 at lr 1), loss <= 3e-7 relative. The normalisation error that
``test_sft_without_token_averaging_differs`` provokes gives |dw| 2.7e-4 and 8e-5 relative on the loss, so the
tolerances sit between the two with >= 8x margin on each side. See docs/scale.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[3]
TALLREC = ROOT / "tests" / "assets" / "tallrec"
WEIGHT_ATOL = 1e-5
LOSS_RTOL = 1e-5
B = 2  # per-rank batch; the 1-rank reference uses 2 * B, and 2 steps x 2B = 8 rows = one epoch
COMMON = ["model=tiny_random", "logger=none", "trainer.bf16=false", "trainer.max_steps=2", "+trainer.optim=sgd",
          "trainer.lr_scheduler_type=linear", "trainer.warmup_steps=0", "trainer.disable_tqdm=true", "seed=0"]
SFT = ["--config-name", "sft", "+debug=sft_smoke", f"data.splits.train_path={TALLREC / 'train.json'}",
       f"data.splits.valid_path={TALLREC / 'valid.json'}", f"data.splits.test_path={TALLREC / 'test.json'}",
       "data.splits.num_train=8", "eval.scorer.multi_token=first", "eval.before=false",
       "eval.callback.eval_at_start=false", "eval.callback.eval_steps=1000", "peft.config.lora_dropout=0",
       "trainer.learning_rate=0.5", "+trainer.max_grad_norm=0", "trainer.save_strategy=steps",
       "trainer.save_steps=2"]
DPO = ["--config-name", "divpo", "stages=[train]", "eval.before=false", "trainer.learning_rate=0.5",
       "trainer.max_grad_norm=0"]


def launch(run_dir: Path, nproc: int, overrides: list[str]) -> str:
    """``python -m rlpost.train`` (1 process) or the same under ``torchrun --nproc_per_node=2`` (gloo, CPU); returns
    the output."""
    prefix = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] if nproc > 1 else []
    env = {**os.environ, "RLPOST_RUN_DIR": str(run_dir), "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_DEEPSPEED"):
        env.pop(key, None)
    out = subprocess.run([sys.executable, *prefix, "-m", "rlpost.train", *overrides], env=env, cwd=run_dir.parent,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out.stdout + out.stderr


def batch_overrides(per_device: int, accumulation: int = 1) -> list[str]:
    return [f"trainer.per_device_train_batch_size={per_device}", f"trainer.gradient_accumulation_steps={accumulation}"]


def run_sft(run_dir: Path, model_dir: Path, nproc: int, batch: list[str], extra: tuple[str, ...] = ()):
    """SFT run -> (logged loss per step, LoRA weights after the last step)."""
    from safetensors.torch import load_file

    launch(run_dir, nproc, [*SFT, *COMMON, f"model.path={model_dir}", *batch, *extra])
    state = json.loads((run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json").read_text())
    return [h["loss"] for h in state["log_history"] if "loss" in h], load_file(
        run_dir / "adapter_last" / "adapter_model.safetensors")


def write_pairs(run_dir: Path) -> None:
    """8 fixed preference pairs of different prompt/chosen/rejected lengths as DivPO round 0's ``pairs.jsonl``.

    The earlier stages' outputs exist, so the pipeline skips them and only trains.
    """
    rd = run_dir / "round_0"
    rd.mkdir(parents=True)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    pairs = [{"prompt_id": f"p{i}", "prompt": [{"role": "user", "content": "Name a person " + "x" * (3 * i)}],
              "chosen": " ".join(words[: 1 + i % 4]), "rejected": words[i] * (1 + i % 3), "meta": {}}
             for i in range(8)]
    for name in ("candidates.jsonl", "scored.jsonl", "diversity.jsonl"):
        (rd / name).write_text("")
    (rd / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    (rd / "select_stats.json").write_text(json.dumps({"pools": 8, "pairs_kept": 8, "skipped": {}}))
    (rd / "generate_stats.json").write_text(json.dumps({"generate_s": 1.0, "generated_tokens": 1,
                                                        "tokens_per_s": 1.0}))
    (run_dir / "prompts.json").write_text(json.dumps({"tasks": {"persona_generation": {"prompt": "Name one."}}}))


def run_dpo(run_dir: Path, model_dir: Path, nproc: int, batch: list[str]):
    """DPO (DivPO train stage) run -> (logged loss of steps 1 and 2, full model weights after step 2)."""
    from safetensors.torch import load_file

    write_pairs(run_dir)
    launch(run_dir, nproc, [*DPO, *COMMON, f"model.path={model_dir}", f"data.source.path={run_dir / 'prompts.json'}",
                            *batch])
    stats = json.loads((run_dir / "round_0" / "train_stats.json").read_text())
    assert stats["steps"] == 2
    return [stats["loss_first"], stats["loss_last"]], load_file(run_dir / "round_0" / "policy" / "model.safetensors")


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


def assert_equivalent(reference, other, label: str) -> None:
    (ref_loss, ref_w), (loss, w) = reference, other
    diff = max_abs_diff(ref_w, w)
    rel = max(abs(x - y) / abs(x) for x, y in zip(ref_loss, loss, strict=True))
    print(f"{label}: max |dw| {diff:.3g}, max loss rel diff {rel:.3g} (losses {loss} vs {ref_loss})")
    assert len(loss) == len(ref_loss) == 2
    assert loss == pytest.approx(ref_loss, rel=LOSS_RTOL), label
    assert diff <= WEIGHT_ATOL, f"{label}: weights differ by {diff}"


@pytest.fixture(scope="module")
def sft_reference(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """1 process, batch 2b; also checks the run moved the LoRA B matrices far beyond the tolerance."""
    loss, weights = run_sft(tmp_path_factory.mktemp("sft") / "run", tiny_model_dir, 1, batch_overrides(2 * B))
    moved = max(v.abs().max().item() for k, v in weights.items() if "lora_B" in k)  # B starts at zero
    assert moved > 1000 * WEIGHT_ATOL, moved
    return loss, weights


@pytest.fixture(scope="module")
def dpo_reference(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """1 process, batch 2b; also checks the weights moved far beyond the tolerance."""
    from safetensors.torch import load_file

    loss, weights = run_dpo(tmp_path_factory.mktemp("dpo") / "run", tiny_model_dir, 1, batch_overrides(2 * B))
    moved = max_abs_diff(weights, load_file(tiny_model_dir / "model.safetensors"))
    assert moved > 1000 * WEIGHT_ATOL, moved
    return loss, weights


@pytest.mark.parametrize(("nproc", "accumulation"), [(2, 1), (1, 2)], ids=["2ranks", "grad_accum"])
def test_sft_matches_one_rank_double_batch(tmp_path: Path, tiny_model_dir: Path, sft_reference, nproc: int,
                                           accumulation: int) -> None:
    """Completions "Yes." / "No." differ in token count: TRL normalises by the tokens of the whole global batch."""
    run = run_sft(tmp_path / "run", tiny_model_dir, nproc, batch_overrides(B, accumulation))
    assert_equivalent(sft_reference, run, f"SFT {nproc} x {B} x accumulation {accumulation}")


@pytest.mark.parametrize(("nproc", "accumulation"), [(2, 1), (1, 2)], ids=["2ranks", "grad_accum"])
def test_dpo_matches_one_rank_double_batch(tmp_path: Path, tiny_model_dir: Path, dpo_reference, nproc: int,
                                           accumulation: int) -> None:
    """The sigmoid DPO loss is a mean over pairs: equal per-rank batches make the mean of rank means exact."""
    run = run_dpo(tmp_path / "run", tiny_model_dir, nproc, batch_overrides(B, accumulation))
    assert_equivalent(dpo_reference, run, f"DPO {nproc} x {B} x accumulation {accumulation}")


def test_sft_without_token_averaging_differs(tmp_path: Path, tiny_model_dir: Path, sft_reference) -> None:
    """Negative control: each rank normalising by its own token count (the DDP bug class this file is for) is caught.

    With ``average_tokens_across_devices=false`` each rank divides by its own completion-token count and DDP
    averages the ranks, which weights a token on a rank with fewer tokens more.
    """
    loss, weights = run_sft(tmp_path / "run", tiny_model_dir, 2, batch_overrides(B),
                            ("+trainer.average_tokens_across_devices=false",))
    diff = max_abs_diff(sft_reference[1], weights)
    print(f"SFT 2 x {B} without token averaging across ranks: max |dw| {diff:.3g}, losses {loss}")
    # the equivalence check above would fail on both counts
    assert diff > WEIGHT_ATOL
    assert loss != pytest.approx(sft_reference[0], rel=LOSS_RTOL)
