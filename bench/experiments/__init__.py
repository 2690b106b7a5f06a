"""Accuracy experiments: they drive rlpost through its command lines and write bench/results/<name>/<tag>/."""
