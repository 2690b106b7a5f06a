"""Run ``rlpost.train`` as if on a CUDA GPU without bf16 (a Tesla T4): torch.cuda's probes are patched (tests only).

Only startup validation can run this way (no kernel ever reaches a GPU), which is what the test needs.
"""

from __future__ import annotations


def main() -> None:
    """Patch the CUDA capability probes, then run the normal CLI."""
    import torch

    torch.cuda.is_available = lambda: True
    torch.cuda.is_bf16_supported = lambda *a, **k: False
    torch.cuda.get_device_name = lambda *a, **k: "Tesla T4"
    from rlpost.train import main as train_main

    train_main()


if __name__ == "__main__":
    main()
