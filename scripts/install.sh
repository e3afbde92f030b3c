#!/usr/bin/env bash
# Set up an environment for mmcascade; safe to run again (each step is skipped when already done).
#   0. the environment (scripts/python_env.sh): $PYTHON, the active virtualenv, or .venv/ here;
#   1. torch 2.13.0 (CPU) first, and pinned for every later step, so no dependency can pull
#      another torch build;
#   2. mmcv 2.2.0 with its compiled ops: the prebuilt wheel from ../shared/wheels when it is
#      there, otherwise built from source (MMCV_WITH_OPS=1, setuptools<70, about 13 minutes on 2 cores);
#   3. the remaining requirements, and mmcascade itself in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
TORCH_VERSION=2.13.0
MMCV_VERSION=2.2.0
WHEELS=${MMCASCADE_WHEELS:-../shared/wheels}  # prebuilt mmcv wheels, when there are some
export MMCASCADE_ROOT="$PWD"

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==$TORCH_VERSION" > "$constraints"
pip_install() { "$PY" -m pip install -q --disable-pip-version-check -c "$constraints" "$@"; }

if ! "$PY" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "[install] torch==$TORCH_VERSION"
  "$PY" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi

if ! "$PY" -c "import sys, mmcv, mmcv.ops; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  # mmcv's own dependencies first, so that mmcv itself can go in with --no-deps either way.
  pip_install numpy addict packaging Pillow pyyaml yapf "mmengine>=0.10.4,<0.11" opencv-python-headless
  if [ -d "$WHEELS" ] && ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    echo "[install] mmcv==$MMCV_VERSION from $WHEELS"
    pip_install --no-deps --no-index --find-links "$WHEELS" "mmcv==$MMCV_VERSION"
  else
    echo "[install] building mmcv==$MMCV_VERSION with compiled ops from source (about 13 minutes on 2 cores)"
    pip_install "setuptools<70" wheel packaging ninja
    MMCV_WITH_OPS=1 pip_install --no-deps --no-build-isolation --no-binary mmcv "mmcv==$MMCV_VERSION"
    pip_install "setuptools>=77.0.3"  # what torch declares; the old one was only for building mmcv
  fi
  "$PY" -c "import mmcv.ops" || { echo "[install] mmcv.ops does not import" >&2; exit 1; }
fi

# Re-install when a dependency is missing or mmcascade resolves to another checkout.
if ! "$PY" - <<'PYCHECK' 2>/dev/null; then
import os, sys
import mmengine, pycocotools, terminaltables, pytest, ruff, modelindex  # noqa: F401
os.chdir("/")  # resolve mmcascade as installed, not from the current directory
import mmcascade
sys.exit(os.path.dirname(os.path.dirname(mmcascade.__file__)) != os.environ["MMCASCADE_ROOT"])
PYCHECK
  echo "[install] requirements and mmcascade (editable)"
  pip_install "mmengine>=0.10.4,<0.11" -r requirements/runtime.txt -r requirements/tests.txt
  pip_install --no-deps --no-build-isolation -e .
fi
"$PY" -c "import sys, torch, mmcv, mmcascade; print(f'[install] ready in {sys.prefix}: torch {torch.__version__}, mmcv {mmcv.__version__}, mmcascade {mmcascade.__version__}')"
