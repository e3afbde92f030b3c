# Sourced by the scripts: sets PY to the interpreter of the environment mmcascade lives in.
#   - $PYTHON when set (that interpreter, as is);
#   - else the active virtualenv ($VIRTUAL_ENV);
#   - else .venv/ in the checkout, created on first use with ${BASE_PYTHON:-python3}.
# The system Python is never installed into by surprise.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then
  PY="$VIRTUAL_ENV/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    echo "[env] creating a virtualenv in $PWD/.venv (activate it with: source .venv/bin/activate)"
    if ! "${BASE_PYTHON:-python3}" -m venv .venv; then
      rm -rf .venv
      echo "[env] ${BASE_PYTHON:-python3} cannot create a virtualenv: on Debian / Ubuntu install python3-venv" \
        "(sudo apt-get install python3-venv), or set BASE_PYTHON to another Python 3.10+" >&2
      exit 1
    fi
  fi
  PY="$PWD/.venv/bin/python"
fi
export PYTHON="$PY"  # the launchers (tools/*.sh) and tests use it too
