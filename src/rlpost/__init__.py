"""rlpost: RL post-training recipes for LLMs (GRPO/RLVR, self-consistency, DivPO, LoRA SFT)."""

__version__ = "0.1.0"
