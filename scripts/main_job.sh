#!/usr/bin/env bash
# The main job on the embedded default: install what is missing, generate the embedded shapes
# dataset (first use), train the small Cascade Mask R-CNN on CPU, evaluate it (AP tables), and
# save pictures of its detections and the per-stage analysis (stage AP table, IoU plots). Extra arguments go to tools/train.py (e.g. --cfg-options).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
CONFIG=${CONFIG:-configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py}
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/$NAME}

STEPS=()
START=$(date +%s)
step() {  # step NAME COMMAND...: run it and record how long it took
  local name=$1 t0
  shift
  t0=$(date +%s)
  "$@"
  STEPS+=("$name $(($(date +%s) - t0)) s")
}
step install bash scripts/install.sh
step train "$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
step test "$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --show-dir detections --score-thr 0.3
step pictures "$PY" tools/misc/tile_images.py "$WORK_DIR" --pattern "*/detections/*.png" --out "$WORK_DIR/detections.png"
step stage-analysis "$PY" tools/analysis_tools/cascade_analysis.py "$CONFIG" "$CKPT" --out-dir "$WORK_DIR/cascade_analysis"
echo "[main job] checkpoint: $CKPT"
echo "[main job] picture of detections: $WORK_DIR/detections.png"
echo "[main job] per-stage table and plots: $WORK_DIR/cascade_analysis/"
echo "[main job] time per step: $(IFS=,; echo "${STEPS[*]}" | sed 's/,/, /g'); total $(($(date +%s) - START)) s"
