#!/usr/bin/env bash
# The checks of .pre-commit-config.yaml, run directly: ruff (lint and format) and mypy --strict on
# the box structures and RoI heads. Through pre-commit when this is a git checkout (as CI runs it),
# else the same commands.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
export PATH="$(dirname "$PY"):$PATH"  # the hooks call ruff / mypy of this environment
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && "$PY" -m pre_commit --version >/dev/null 2>&1; then
  "$PY" -m pre_commit run --all-files --show-diff-on-failure
else
  "$PY" -m ruff check .
  "$PY" -m ruff format --check .
  "$PY" -m mypy
fi
