#!/usr/bin/env bash
# One prepared check on a machine with an NVIDIA GPU and PyTorch (no network needed):
#   bash scripts/device_check.sh OUT_DIR [--dry-run] [--iters N]
# 1. installs what the machine lacks (mmengine, mmcv, pycocotools, ...) from the wheels in
#    $MMCASCADE_DEVICE_WHEELS (default: wheels-device/ beside the checkout), never torch;
# 2. runs scripts/device_check.py: ops on the device, the device-agnostic tests, the main job's
#    model trained on the device, CPU-vs-device detections, inference images/s. Figures go to OUT_DIR.
# --dry-run selects the CPU path with tiny sizes and skips installing (CI runs it that way).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/device_check.sh OUT_DIR [--dry-run] [--iters N]}
shift
PY=${PYTHON:-python3}
WHEELS=${MMCASCADE_DEVICE_WHEELS:-../wheels-device}
mkdir -p "$OUT"
if [[ " $* " != *" --dry-run "* ]]; then
  if ! "$PY" -c "import mmengine, mmcv, pycocotools, terminaltables, pytest" 2>/dev/null; then
    [ -d "$WHEELS" ] || { echo "[device-check] missing packages and no wheel folder $WHEELS" >&2; exit 1; }
    echo "[device-check] installing from $WHEELS"
    "$PY" -m pip install -q --no-index --find-links "$WHEELS" --no-deps "$WHEELS"/*.whl
  fi
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || true
fi
start=$(date +%s)
"$PY" scripts/device_check.py "$OUT" "$@"
rc=$?
echo "[device-check] finished in $(( $(date +%s) - start )) s, exit $rc; figures in $OUT"
exit $rc
