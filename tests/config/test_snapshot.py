"""Every resolved config value is the one recorded before the config layout changed (tests/config/snapshot.py),
except the keys listed here as deliberately renamed, moved or dropped."""

from __future__ import annotations

import json

import pytest

from tests.config.snapshot import NAMES, SNAPSHOT, VARIANTS, flatten, resolved

SAMPLING = ("temperature", "top_p", "top_k", "max_new_tokens")
# old key -> new key; values must be equal (several old keys may have one new home)
RENAMED: dict[str, str] = {
    # training sampling: from the rollout group (engine) to the top-level sampling group
    **{f"rollout.{k}": f"sampling.{k}" for k in SAMPLING},
    # evaluation sampling: its own node
    **{f"eval.{k}": f"eval.sampling.{k}" for k in ("temperature", "top_p", "max_new_tokens")},
    # TRL's copies, now added from the sampling group at runtime (rlpost.runtime.trl_args.sampling_args)
    **{f"trainer.{k}": f"sampling.{k}" for k in ("temperature", "top_p", "top_k")},
    "trainer.max_completion_length": "sampling.max_new_tokens",
    # guards=offline_labels: votes per row; the rest is the sampling group and the run seed
    "guards.base_labels.params.n": "guards.base_labels.n",
    **{f"guards.base_labels.params.{k}": f"sampling.{k}" for k in ("temperature", "top_p", "max_new_tokens")},
    "guards.base_labels.params.seed": "seed",
}
# old keys with no new home: rlpost-eval does no training, so it has no training sampling
DROPPED = {"guards.base_labels.params._target_",
           # eval=instruction_following was eval.task; every eval option now states eval.kind
           "eval.task"}
DROPPED_WITHOUT_TRAINING = {f"rollout.{k}" for k in SAMPLING}
# keys new in this layout (eval.sampling.top_k: null is what evaluation used before, unset)
ADDED = {"paths.data_root", "eval.sampling.top_k",
         # the task kind each conf/eval/*.yaml states (rlpost.eval.tasks.registry)
         "eval.kind",
         # reward=instruction_following's optional gate (null = none; reward=if_relevance sets it)
         "reward.funcs.instruction_following.gate"}
# "<case>": {key: new value} for values changed on purpose (the old value stays in the snapshot)
CHANGED: dict[str, dict[str, object]] = {}
# "<case>": overrides that restore the group options the snapshot recorded, for recipes whose groups were switched on
# purpose; every value must then be the recorded one (so the old recipe stays one override away)
SWITCHED: dict[str, list[str]] = {
    # trains with arithmetic replay and dynamic sampling since the comparisons in docs/instruction_following.md
    "grpo_smollm2_ifeval": ["data=if_constraints", "reward=instruction_following", "algo.dynamic_sampling=false"],
}
# value renames: module paths that moved after the snapshot (the arithmetic generator left data/sources/files.py)
MOVED_TARGETS = {"rlpost.data.sources.files.generate_arithmetic": "rlpost.data.sources.arith.generate_arithmetic"}
CASES = [*NAMES, *(f"{n} {o}" for n, o in VARIANTS)]


def expected_values(case: str, before: dict[str, object]) -> dict[str, object]:
    """The snapshot's values of ``case`` under the new key names."""
    out: dict[str, object] = {}
    for key, value in before.items():
        if key in DROPPED or (case.startswith("evaluate") and key in DROPPED_WITHOUT_TRAINING):
            continue
        new = RENAMED.get(key, key)
        value = MOVED_TARGETS.get(value, value) if isinstance(value, str) else value
        assert out.get(new, value) == value, f"{case}: {key} and another old key both map to {new}"
        out[new] = value
    return {**out, **CHANGED.get(case, {})}


@pytest.mark.parametrize("case", CASES)
def test_every_value_unchanged(case: str) -> None:
    before = json.loads(SNAPSHOT.read_text())[case]
    name, _, override = case.partition(" ")
    after = flatten(resolved(name, [*([override] if override else []), *SWITCHED.get(case, [])]))
    expected = expected_values(case, before)
    differ = {k: (v, after.get(k, "<missing>")) for k, v in expected.items() if after.get(k, "<missing>") != v}
    assert differ == {}, "key: (before, after)"
    assert {k for k in after if k not in expected} <= ADDED


def test_switched_recipes_use_their_new_groups():
    cfg = resolved("grpo_smollm2_ifeval", [])
    assert cfg["data"]["source"]["_target_"] == "rlpost.data.sources.mixture.mix_sources"
    assert set(cfg["reward"]["weights"]) == {"instruction_following", "accuracy"}
    assert cfg["algo"]["dynamic_sampling"] is True
