#!/usr/bin/env bash
# Run a part of the test suite and two training iterations of the main job's model against other
# mmcv builds, each in its own virtualenv (torch 2.13.0 CPU installed first and pinned):
#   bash scripts/check_mmcv_versions.sh VENV_ROOT WHEEL_OR_SDIST [...]
# e.g. ../shared/wheels/mmcv-2.1.0-*.whl (compiled ops) or a wheel built without ops with
#   MMCV_WITH_OPS=0 pip wheel --no-deps --no-build-isolation mmcv-2.2.0/   (-> mmcv_lite-2.2.0-*.whl)
# Prints one result line per build; exits non-zero when one fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:?usage: scripts/check_mmcv_versions.sh VENV_ROOT WHEEL [WHEEL...]}
shift
PY=${PYTHON:-python3}
status=0
mkdir -p "$ROOT"
for wheel in "$@"; do
  name=$(basename "$wheel" .whl)
  venv="$ROOT/$name"
  log="$ROOT/$name.log"
  {
    [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
    P="$venv/bin/python"
    c=$(mktemp); echo "torch==2.13.0" > "$c"
    "$P" -m pip install -q torch==2.13.0
    "$P" -m pip install -q -c "$c" numpy addict packaging Pillow pyyaml yapf "mmengine>=0.10.4,<0.11" \
        opencv-python-headless pycocotools terminaltables matplotlib tqdm pytest pytest-timeout scipy
    "$P" -m pip install -q --no-deps "$wheel"
    "$P" -m pip install -q --no-deps --no-build-isolation -e .
    "$P" -c "import mmcv, mmcascade.ops as o; print('mmcv', mmcv.__version__, 'compiled ops:', o.mmcv_ops() is not None)"
    "$P" -m pytest -q -p no:cacheprovider tests/unit/ops/test_ops.py tests/unit/models/test_cascade_model.py \
        tests/e2e/test_inference_api.py tests/unit/models/test_components.py
  } > "$log" 2>&1
  rc=$?
  summary=$(grep -E "mmcv [0-9]|passed|failed" "$log" | tail -2 | tr '\n' ' ')
  echo "[mmcv-check] $name: exit $rc; $summary(log: $log)"
  [ $rc -eq 0 ] || status=1
done
exit $status
