#!/usr/bin/env bash
# Usage (on a CUDA machine, from the repo root): OUT=DIR bench/gpu_check.sh [WHEEL_DIR]
# The GPU checks that need no vLLM, in about 5 minutes: tests/gpu (dtype rule, autocast, tiny GRPO on CUDA),
# tests/e2e/gpu (GRPO under DeepSpeed ZeRO-2/ZeRO-3, NCCL), then the whole default suite with CUDA visible (every
# trainer, engine and evaluator picks the GPU). With WHEEL_DIR, first installs the wheels and sdists found there
# into /tmp/site (pip --no-index, nothing fetched) for a machine that has torch but not rlpost's other needs.
# Writes $OUT/result.json (date, versions, GPU, per-tier counts and failures), result.md and a junit xml per
# tier. The vLLM checks
# are bench/vllm_gpu_check.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu_check/${TAG:-gpu}}
mkdir -p "$OUT"
if [[ -n "${1:-}" ]]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$1"/*.whl \
    || { echo "install from $1 failed" >&2; exit 2; }
  for sdist in "$1"/*.tar.gz; do
    [[ -e "$sdist" ]] || continue
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --target /tmp/site "$sdist" \
      || { echo "install of $sdist failed" >&2; exit 2; }
  done
  export PYTHONPATH=/tmp/site:$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}
  export PATH=/tmp/site/bin:$PATH
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device visible")' || exit 2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
RC=0
run_tier() {  # name, seconds, pytest args...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" python3 -m pytest -q -p no:cacheprovider -o addopts="--strict-markers" \
    --junitxml="$OUT/$name.xml" "$@" 2>&1 | tail -n 40
  local rc=${PIPESTATUS[0]}
  echo "tier $name: rc=$rc in $((SECONDS - t0)) s"
  [[ $rc -eq 0 ]] || RC=1
}
run_tier gpu 300 -m gpu tests/gpu tests/e2e/gpu
run_tier default 300 -m "not gpu and not slow and not e2e" --doctest-modules -n 8 src tests
python3 - "$OUT" <<'PY'
import datetime, glob, json, os, sys, xml.etree.ElementTree as ET
import torch, transformers, trl, peft, accelerate
out = sys.argv[1]
tiers = {}
for path in sorted(glob.glob(f"{out}/*.xml")):
    cases, failed = 0, []
    for tc in ET.parse(path).getroot().iter("testcase"):
        cases += 1
        bad = next((e for e in tc if e.tag in ("failure", "error")), None)
        if bad is not None:
            failed.append({"test": f"{tc.get('classname')}::{tc.get('name')}", "message": bad.get("message", "")[:600]})
    skipped = sum(1 for tc in ET.parse(path).getroot().iter("testcase") if tc.find("skipped") is not None)
    tiers[os.path.basename(path)[:-4]] = {"tests": cases, "failed": len(failed), "skipped": skipped,
                                          "failures": failed}
try:
    import deepspeed
    ds = deepspeed.__version__
except Exception as err:  # noqa: BLE001 - recorded, not fatal
    ds = f"unavailable: {err}"
machine = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "gpu": torch.cuda.get_device_name(0),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "transformers": transformers.__version__, "trl": trl.__version__,
           "peft": peft.__version__, "accelerate": accelerate.__version__, "deepspeed": ds}
report = {"machine": machine, "tiers": tiers}
with open(f"{out}/result.json", "w") as fh:
    json.dump(report, fh, indent=2)
lines = [f"# GPU check, {machine['gpu']}, {machine['date']}", "",
         ", ".join(f"{k} {v}" for k, v in machine.items() if k not in ("date", "gpu")), "",
         "| tier | tests | failed | skipped |", "|---|---|---|---|"]
lines += [f"| {t} | {d['tests']} | {d['failed']} | {d['skipped']} |" for t, d in tiers.items()]
lines += ["", *[f"- failed: `{f['test']}`: {f['message'][:200]}" for d in tiers.values() for f in d["failures"]]]
with open(f"{out}/result.md", "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
exit $RC
