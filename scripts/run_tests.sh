#!/usr/bin/env bash
# Install what is missing, lint (scripts/lint.sh: the pre-commit hooks), then run the test suite
# (extra arguments go to pytest; `-m "not e2e"` runs the unit tests only).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
bash scripts/install.sh
bash scripts/lint.sh
"$PY" -m pytest tests -q -p no:cacheprovider "$@"
