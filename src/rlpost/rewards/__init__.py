"""Answer extraction, verification and reward functions with TRL's reward-function signature."""
