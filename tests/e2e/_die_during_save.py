"""Run ``rlpost.train`` but SIGKILL the process in the middle of the checkpoint save at step
``RLPOST_TEST_KILL_AT_STEP``: after the weights and optimizer are written, before the RNG states, trainer state and
commit marker. This is a ``kill -9`` at the worst moment, made deterministic (tests only)."""

from __future__ import annotations

import os
import signal


def main() -> None:
    """Patch HF's ``Trainer._save_rng_state`` to die at the given step, then run the normal CLI."""
    from transformers import Trainer

    kill_at_step = int(os.environ["RLPOST_TEST_KILL_AT_STEP"])
    save_rng_state = Trainer._save_rng_state

    def save_rng_state_or_die(self: Trainer, output_dir: str) -> None:
        if self.state.global_step == kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)
        save_rng_state(self, output_dir)

    Trainer._save_rng_state = save_rng_state_or_die
    from rlpost.train import main as train_main

    train_main()


if __name__ == "__main__":
    main()
