#!/usr/bin/env bash
# Set up an environment for mmcascade; safe to run again (each step is skipped when already done).
#   0. the environment (scripts/python_env.sh): $PYTHON, the active virtualenv, or .venv/ here;
#   1. torch 2.13.0 first, and pinned for every later step, so no dependency can pull another
#      torch build: the CPU build from PyTorch's CPU index (TORCH_INDEX, default
#      https://download.pytorch.org/whl/cpu; a CUDA index such as .../whl/cu126 for GPUs), or,
#      when that index cannot be reached within a few seconds (a machine that sees only a
#      package registry), from the registry;
#   2. mmcv 2.2.0: on a machine without a CUDA device the mmcv-lite wheel (no compiled ops:
#      mmcascade's own RoIAlign and NMS are the CPU default anyway), or mmcv with ops from a
#      prebuilt wheel when MMCASCADE_WHEELS has one; with a CUDA device, or MMCV_WITH_OPS=1, mmcv
#      with its compiled ops (that wheel, or a source build: 13 to 50 minutes on 2 cores, needs a
#      C++ compiler and Python's headers, checked first); MMCV_WITH_OPS=0 insists on mmcv-lite.
#      Run again with another choice, it switches (mmcv-lite <-> mmcv with ops);
#   3. the remaining requirements (with the deploy extra: onnx, onnxruntime, openvino, nncf, the
#      serve extra: fastapi, uvicorn, and Ray Serve), and mmcascade itself in editable mode;
#   4. for the serving page's browser test, Chromium and its driver: as root on Debian / Ubuntu
#      through apt-get (MMCASCADE_NO_APT=1 leaves system packages alone; that test is then skipped
#      and says why).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
TORCH_VERSION=2.13.0
MMCV_VERSION=2.2.0
WHEELS=${MMCASCADE_WHEELS:-../shared/wheels}  # a folder of prebuilt mmcv wheels, when there is one
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
export MMCASCADE_ROOT="$PWD"

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==$TORCH_VERSION" > "$constraints"
pip_install() { "$PY" -m pip install -q --disable-pip-version-check -c "$constraints" "$@"; }

reachable() {  # an index URL that answers within 5 seconds
  "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip('/') + '/torch/', timeout=5)" "$1" \
    >/dev/null 2>&1
}

if ! "$PY" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  if [ -n "$TORCH_INDEX" ] && reachable "$TORCH_INDEX"; then
    echo "[install] torch==$TORCH_VERSION from $TORCH_INDEX"
    "$PY" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX"
  else
    echo "[install] torch==$TORCH_VERSION from the package registry (${TORCH_INDEX:-TORCH_INDEX is empty}: not reachable)"
    "$PY" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
  fi
  "$PY" -c "import torch; print('[install] torch', torch.__version__, 'CUDA', torch.version.cuda or 'none (CPU build)')"
fi

# What mmcv is installed now: "ops" (mmcv with its compiled extension), "lite" (mmcv without it:
# the mmcv-lite wheel, or a build without MMCV_WITH_OPS), or "none"; another version counts as none.
mmcv_state() {
  "$PY" - "$MMCV_VERSION" <<'PYSTATE' 2>/dev/null || echo none
import importlib, sys
try:
    import mmcv
except ImportError:
    print("none"); sys.exit()
if mmcv.__version__ != sys.argv[1]:
    print("none"); sys.exit()
try:
    importlib.import_module("mmcv._ext")
    print("ops")
except ImportError:
    print("lite")
PYSTATE
}
# Compiled ops are wanted on a machine with a CUDA device (the GPU kernels), or when asked for
# (MMCV_WITH_OPS=1); MMCV_WITH_OPS=0 asks for mmcv-lite even then. On a CPU mmcascade's own
# RoIAlign and NMS run either way (the CPU default), so the quick wheel is enough there.
has_cuda_device() { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q GPU; }
if [ -n "${MMCV_WITH_OPS:-}" ]; then
  WANT_OPS=$([ "$MMCV_WITH_OPS" = 1 ] && echo 1 || echo 0)
elif has_cuda_device; then
  WANT_OPS=1
else
  WANT_OPS=0
fi
STATE=$(mmcv_state)
# mmcv's own dependencies, so that mmcv itself can go in with --no-deps either way.
mmcv_deps() { pip_install numpy addict packaging Pillow pyyaml yapf "mmengine>=0.10.4,<0.11" opencv-python-headless; }
if [ "$WANT_OPS" = 1 ] && [ "$STATE" != ops ]; then
  mmcv_deps
  started=$(date +%s)
  [ "$STATE" = lite ] && "$PY" -m pip uninstall -y -q mmcv-lite mmcv >/dev/null 2>&1 || true
  if [ -d "$WHEELS" ] && ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    echo "[install] mmcv==$MMCV_VERSION with compiled ops from $WHEELS"
    pip_install --no-deps --no-index --find-links "$WHEELS" "mmcv==$MMCV_VERSION"
  else
    echo "[install] building mmcv==$MMCV_VERSION with compiled ops from source (13 to 50 minutes on 2 cores)"
    if ! command -v c++ >/dev/null || ! "$PY" -c "import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"; then
      echo "[install] building mmcv needs a C++ compiler and Python's headers: on Debian / Ubuntu" \
        "sudo apt-get install g++ python3-dev (or point MMCASCADE_WHEELS at a folder with a prebuilt mmcv wheel)" >&2
      exit 1
    fi
    pip_install "setuptools<70" wheel packaging ninja
    MMCV_WITH_OPS=1 pip_install --no-deps --no-build-isolation --no-binary mmcv "mmcv==$MMCV_VERSION"
    pip_install "setuptools>=77.0.3"  # what torch declares; the old one was only for building mmcv
  fi
  "$PY" -c "import mmcv.ops, mmcv._ext" || { echo "[install] mmcv's compiled ops do not import" >&2; exit 1; }
  echo "[install] mmcv with compiled ops installed in $(($(date +%s) - started)) s"
elif [ "$WANT_OPS" = 0 ] && [ "$STATE" = none ]; then
  mmcv_deps
  if [ -d "$WHEELS" ] && ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    echo "[install] mmcv==$MMCV_VERSION with compiled ops from $WHEELS (a prebuilt wheel: no build)"
    pip_install --no-deps --no-index --find-links "$WHEELS" "mmcv==$MMCV_VERSION"
  else
    echo "[install] mmcv-lite==$MMCV_VERSION (no compiled ops: mmcascade's own RoIAlign and NMS run on the CPU;" \
      "MMCV_WITH_OPS=1 builds mmcv's ops)"
    pip_install --no-deps "mmcv-lite==$MMCV_VERSION"
  fi
elif [ "$WANT_OPS" = 0 ] && [ "$STATE" = ops ] && [ "${MMCV_WITH_OPS:-}" = 0 ]; then
  "$PY" -m pip uninstall -y -q mmcv
  echo "[install] mmcv-lite==$MMCV_VERSION (MMCV_WITH_OPS=0: mmcv's compiled ops removed)"
  pip_install --no-deps "mmcv-lite==$MMCV_VERSION"
elif [ "$WANT_OPS" = 0 ] && [ "$STATE" = ops ]; then
  echo "[install] mmcv==$MMCV_VERSION with compiled ops is installed: kept (MMCV_WITH_OPS=0 replaces it by mmcv-lite)"
fi
"$PY" -c "import mmcv" || { echo "[install] mmcv does not import" >&2; exit 1; }

# Re-install when a dependency is missing or mmcascade resolves to another checkout.
if ! "$PY" - <<'PYCHECK' 2>/dev/null; then
import os, sys
import mmengine, pycocotools, terminaltables, pytest, ruff, modelindex, onnx, onnxruntime, openvino, ray, selenium, cityscapesscripts  # noqa: F401
os.chdir("/")  # resolve mmcascade as installed, not from the current directory
import mmcascade
sys.exit(os.path.dirname(os.path.dirname(mmcascade.__file__)) != os.environ["MMCASCADE_ROOT"])
PYCHECK
  echo "[install] requirements and mmcascade (editable)"
  pip_install "mmengine>=0.10.4,<0.11" -r requirements/runtime.txt -r requirements/tests.txt -r requirements/deploy.txt -r requirements/serve.txt -r requirements/ray.txt \
    -r requirements/cityscapes.txt
  pip_install --no-deps --no-build-isolation -e .
fi
"$PY" -c "import sys, torch, mmcv, mmcascade; print(f'[install] ready in {sys.prefix}: torch {torch.__version__}, mmcv {mmcv.__version__}, mmcascade {mmcascade.__version__}')"
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ "${MMCASCADE_NO_APT:-0}" != 1 ]; then
    echo "[install] chromium and chromium-driver (apt-get; for the serving page's browser test)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; }; then
      echo "[install] chromium could not be installed: the serving page's browser test will be skipped"
    fi
  else
    echo "[install] no chromium / chromedriver: the serving page's browser test will be skipped" \
      "(sudo apt-get install chromium chromium-driver)"
  fi
fi
