"""Instruction-following reward: IFEval checks, sandboxed checker, offline NLTK data."""
