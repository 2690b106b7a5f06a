"""Runtime floor: model loading, TRL arguments and patches, accelerator/DeepSpeed setup, hardware facts."""
