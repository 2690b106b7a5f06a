"""Model loading and TRL argument building."""
