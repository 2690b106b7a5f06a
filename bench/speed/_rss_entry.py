"""torchrun entry for bench/speed/scale.py: runs ``rlpost.train`` and records this process's peak RSS at exit."""

from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import sys
from pathlib import Path


def _write_peak_rss() -> None:
    out = Path(os.environ["RLPOST_BENCH_RSS_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    (out / f"rank{os.environ.get('RANK', '0')}.json").write_text(json.dumps({"peak_rss_mib": peak_mib}))


if __name__ == "__main__":
    atexit.register(_write_peak_rss)
    sys.argv[0] = "rlpost.train"
    runpy.run_module("rlpost.train", run_name="__main__", alter_sys=True)
