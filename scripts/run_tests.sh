#!/usr/bin/env bash
# Install what is missing, lint (scripts/lint.sh: the pre-commit hooks), then run the test suite
# (extra arguments go to pytest; `-m "not e2e"` runs the unit tests only). Skipped tests are
# listed with their reason (-rs: e.g. the comparisons with mmcv's compiled ops where mmcv-lite is
# installed); the time of each step is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
t0=$(date +%s)
bash scripts/install.sh
t1=$(date +%s)
bash scripts/lint.sh
t2=$(date +%s)
status=0
"$PY" -m pytest tests -q -p no:cacheprovider -rs --durations=25 "$@" || status=$?
t3=$(date +%s)
echo "[run_tests] install $((t1 - t0)) s, lint $((t2 - t1)) s, tests $((t3 - t2)) s"
exit $status
