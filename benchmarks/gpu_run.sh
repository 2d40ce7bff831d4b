#!/usr/bin/env bash
# The GPU check on a GPU machine without network, in one command (docs/gpu/README.md):
#   bash benchmarks/gpu_run.sh      (with wheels/ from `make gpu-wheels` beside it)
# Installs the carried wheels into /tmp/site, generates the data set, runs
# `python -m benchmarks gpu-check` (which saves nvidia-smi's own table) and leaves
# gpu_check.json, gpu_check.md, nvidia-smi.txt, nvidia-smi-q.txt and gpu_run.log in $OUT.
set -uo pipefail
OUT=${OUT:-results/gpu-run}
WHEELS=${WHEELS:-wheels}        # the carried wheels (benchmarks/gpu_wheels.sh made them)
DATA=${DATA:-data/gpu-check}    # generated here when missing (shared/ does not travel)
GPU_CHECK_FLAGS=${GPU_CHECK_FLAGS:-}  # extra flags; the last of a repeated flag wins
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 PYTHONPATH="$PWD"

main() {
  date -u +"start %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  if compgen -G "$WHEELS/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
      && export PYTHONPATH="/tmp/site:$PYTHONPATH" \
      || echo "wheel install failed: the trackers will be recorded as not measured"
  else
    echo "no $WHEELS/ carried: the trackers will be recorded as not measured"
  fi
  [ -d "$DATA/train" ] || python3 -m trainer make-data --out "$DATA" --per-class 100 --size 256
  timeout 420 python3 -m benchmarks gpu-check --device cuda --data "$DATA" --out "$OUT" $GPU_CHECK_FLAGS
  local rc=$?
  nvidia-smi -q -d CLOCK,PERFORMANCE,POWER,TEMPERATURE > "$OUT/nvidia-smi-q.txt" 2>&1
  date -u +"end %Y-%m-%dT%H:%M:%SZ (gpu-check exit $rc)"
  return $rc
}

main 2>&1 | tee "$OUT/gpu_run.log"
exit "${PIPESTATUS[0]}"
