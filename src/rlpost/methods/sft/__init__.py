"""TALLRec-style LoRA SFT: pipeline and AUC early stopping."""
