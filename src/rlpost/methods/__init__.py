"""One package per post-training method (GRPO, DivPO, SFT), each built on the shared floor."""
