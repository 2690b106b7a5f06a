#!/usr/bin/env bash
# Usage: TAG=gpu bench/vllm_gpu_check.sh [WHEEL_DIR]
# The vLLM checks on a CUDA machine, in well under 10 minutes: the engine (greedy = HF engine, fp32), GRPO colocate
# (exact weight sync, vLLM vs trainer log-probs), adapter-only LoRA sync, the staleness check, the server mode.
# Installs nothing unless WHEEL_DIR is given, and then only from it (pip --no-index): pip install ".[dev,vllm]" from
# those wheels. Writes bench/results/vllm_gpu_check/$TAG/result.json (per test: outcome, seconds; GPU, versions) and
# a junit xml per test file (OUT=DIR to write elsewhere).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/vllm_gpu_check/${TAG:-gpu}}
mkdir -p "$OUT"
if [[ -n "${1:-}" ]]; then
  pip install -q --no-index --find-links "$1" -e ".[dev,vllm]" || { echo "install from $1 failed" >&2; exit 2; }
fi
python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device visible")' || exit 2
python -c 'import vllm' || { echo "vLLM is not installed (pip install -e \".[vllm]\")" >&2; exit 2; }
RC=0
# one process per file: each vLLM engine keeps its GPU memory until its process ends
for f in tests/vllm/test_vllm_engine.py tests/vllm/test_vllm_grpo.py tests/vllm/test_vllm_server.py; do
  name=$(basename "$f" .py)
  timeout 280 python -m pytest "$f" -q -p no:cacheprovider -o addopts="" -m "not slow" \
    --junitxml="$OUT/vllm_gpu_check_$name.xml" || RC=1
done
python - "$OUT" <<'PY'
import glob, json, sys, xml.etree.ElementTree as ET
import torch, vllm, transformers, trl
out = sys.argv[1]
cases = []
for path in sorted(glob.glob(f"{out}/vllm_gpu_check_*.xml")):
    for tc in ET.parse(path).getroot().iter("testcase"):
        outcome = "failed" if tc.find("failure") is not None or tc.find("error") is not None else (
            "skipped" if tc.find("skipped") is not None else "passed")
        msg = next((e.get("message", "")[:500] for e in tc if e.tag in ("failure", "error", "skipped")), "")
        cases.append({"test": f"{tc.get('classname')}::{tc.get('name')}", "outcome": outcome,
                      "seconds": float(tc.get("time", 0)), "message": msg})
report = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "vllm": vllm.__version__,
          "transformers": transformers.__version__, "trl": trl.__version__, "tests": cases,
          "passed": sum(c["outcome"] == "passed" for c in cases), "total": len(cases)}
with open(f"{out}/result.json", "w") as fh:
    json.dump(report, fh, indent=2)
print(json.dumps({k: report[k] for k in ("gpu", "vllm", "passed", "total")}))
PY
exit $RC
