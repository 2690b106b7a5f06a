"""Run by torchrun with 2 processes: each rank holds a different slice of the same groups (as TRL hands them out)."""

from __future__ import annotations

import json
import os
import sys

import torch.distributed as dist

from rlpost.rewards.self_consistency import MajorityVoteReward


def main() -> None:
    dist.init_process_group("gloo")
    r = dist.get_rank()
    # group p0 = 4, 4, 5 (rank 0 holds one member, rank 1 two); group p1 = 1/2, 0.5, \frac{1}{2}, 7
    slices = {
        0: (["\\boxed{4}", "\\boxed{1/2}", "\\boxed{0.5}"], ["p0", "p1", "p1"]),
        1: (["\\boxed{4}", "\\boxed{5}", "\\boxed{\\frac{1}{2}}", "\\boxed{7}"], ["p0", "p0", "p1", "p1"]),
    }
    texts, pids = slices[r]
    gold = {"p0": "4", "p1": "0.5"}
    logged: dict[str, float] = {}
    reward = MajorityVoteReward(answer_format="boxed", min_agreement=0.6)
    out = reward(None, [[{"role": "assistant", "content": t}] for t in texts], prompt_id=pids,
                 answer=[gold[p] for p in pids], log_metric=lambda k, v: logged.__setitem__(k, v))
    expected = {0: [1.0, 1.0, 1.0], 1: [1.0, 0.0, 1.0, 0.0]}[r]
    assert out == expected, (r, out)
    # both ranks must see the same gathered groups, hence the same metrics
    every = [None] * dist.get_world_size()
    dist.all_gather_object(every, logged)
    assert every[0] == every[1], every
    assert logged["self_consistency/label_accuracy"] == 1.0
    assert logged["self_consistency/majority_share"] == (2 / 3 + 3 / 4) / 2
    out_dir = os.environ.get("RLPOST_TEST_OUT")
    if out_dir:
        with open(os.path.join(out_dir, f"rank{r}.json"), "w") as fh:
            json.dump({"rewards": out, "metrics": logged}, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
