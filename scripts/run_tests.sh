#!/usr/bin/env bash
# Install what is missing, lint, then run the test suite (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
bash scripts/install.sh
"$PY" -m ruff check .
"$PY" -m pytest tests -q -p no:cacheprovider "$@"
