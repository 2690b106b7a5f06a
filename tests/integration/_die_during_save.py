"""Run ``rlpost.train`` but SIGKILL the process in the middle of the checkpoint save at step
``RLPOST_TEST_KILL_AT_STEP``: after the weights and optimizer are written, before the RNG states, trainer state and
commit marker. This is a ``kill -9`` at the worst moment, made deterministic (tests only)."""

from __future__ import annotations

import os
import signal

from transformers import Trainer

KILL_AT_STEP = int(os.environ["RLPOST_TEST_KILL_AT_STEP"])
_save_rng_state = Trainer._save_rng_state


def _save_rng_state_or_die(self: Trainer, output_dir: str) -> None:
    if self.state.global_step == KILL_AT_STEP:
        os.kill(os.getpid(), signal.SIGKILL)
    _save_rng_state(self, output_dir)


if __name__ == "__main__":
    Trainer._save_rng_state = _save_rng_state_or_die
    from rlpost.train import main

    main()
