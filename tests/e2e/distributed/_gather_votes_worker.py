"""Run by torchrun with 2 processes: each rank holds a different slice of the same groups (as TRL hands them out).

Groups of 4 in TRL's group-contiguous order, 6 completions per rank: rank 0 holds g0 and the first half of g1,
rank 1 the second half of g1 and g2. g2 asks g0's question again (same prompt_id): it must stay its own group.
On rank 1, math-verify always answers "not equal" (as when its wall-clock timeout fires on one rank only): the
labels must still be rank 0's on both ranks.
"""

from __future__ import annotations

import json
import os
import sys

import torch.distributed as dist

from rlpost.rewards.self_consistency import MajorityVoteReward

GROUPS = [  # (prompt_id, gold, completions)
    ("p0", "4", ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "\\boxed{4}"]),
    ("p1", "0.5", ["\\boxed{1/2}", "\\boxed{0.5}", "\\boxed{\\frac{1}{2}}", "\\boxed{7}"]),
    ("p0", "4", ["\\boxed{5}", "\\boxed{5}", "\\boxed{5}", "\\boxed{4}"]),
]


def main() -> None:
    dist.init_process_group("gloo")
    r = dist.get_rank()
    if r == 1:
        import math_verify

        math_verify.verify = lambda *args, **kwargs: False
    rows = [(pid, gold, text) for pid, gold, texts in GROUPS for text in texts]
    mine = rows[6 * r : 6 * (r + 1)]
    logged: dict[str, float] = {}
    reward = MajorityVoteReward(answer_format="boxed", min_agreement=0.6)
    out = reward(None, [[{"role": "assistant", "content": t}] for _, _, t in mine], prompt_id=[p for p, _, _ in mine],
                 answer=[g for _, g, _ in mine], log_metric=lambda k, v: logged.__setitem__(k, v))
    out_dir = os.environ.get("RLPOST_TEST_OUT")
    if out_dir:
        with open(os.path.join(out_dir, f"rank{r}.json"), "w") as fh:
            json.dump({"rewards": out, "metrics": logged}, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
