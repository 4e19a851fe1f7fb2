#!/usr/bin/env bash
# Ducha developer entry point. Creates ./.venv (Python >= 3.11) and installs the project on first use.
#   ./dev.sh up      run the whole system: pinned nats-server + all services on SQLite
#   ./dev.sh test    run the whole test suite (DUCHA_TEST_DB=postgres for PostgreSQL)
#   ./dev.sh bench   run the kernel benchmark
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Ducha needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.ducha-installed
want=$(cat pyproject.toml contracts/pyproject.toml subscriber/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # the public contracts and the departments' subscriber kit are packages of their own
  .venv/bin/python -m pip install --quiet -e ./contracts -e ./subscriber -e '.[dev]'
  echo "$want" > "$stamp"
fi

cmd=${1:-help}
shift || true
case "$cmd" in
  up)    exec .venv/bin/ducha run "$@" ;;
  test)  exec .venv/bin/python -m pytest "$@" ;;
  bench) exec .venv/bin/python bench/kernel_bench.py "$@" ;;
  *)     sed -n '2,6p' "$0"; exit 2 ;;
esac
