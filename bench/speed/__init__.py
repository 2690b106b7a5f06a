"""Speed benchmarks: each defines its arguments and writes bench/results/<name>/<tag>/result.{json,md}."""
