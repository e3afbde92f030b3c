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

bash scripts/install.sh
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --show-dir detections --score-thr 0.3
"$PY" tools/misc/tile_images.py "$WORK_DIR" --pattern "*/detections/*.png" --out "$WORK_DIR/detections.png"
"$PY" tools/analysis_tools/cascade_analysis.py "$CONFIG" "$CKPT" --out-dir "$WORK_DIR/cascade_analysis"
echo "[main job] checkpoint: $CKPT"
echo "[main job] picture of detections: $WORK_DIR/detections.png"
echo "[main job] per-stage table and plots: $WORK_DIR/cascade_analysis/"
