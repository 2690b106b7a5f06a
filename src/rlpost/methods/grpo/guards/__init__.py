"""Label-free self-consistency guards: pseudo-labels, collapse detection, early stopping."""
