#!/usr/bin/env bash
# Set everything up, then run every check: lint (ruff), types (mypy), the SAM application's
# offline checks (scripts/checks.sh) and the test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
echo "== ruff" >&2
.venv/bin/ruff check src tests benchmarks functions scripts
.venv/bin/ruff format --check src tests benchmarks functions scripts
echo "== mypy" >&2
.venv/bin/mypy
# The SAM application's checks run beside the tests (the tests mostly wait on processes and
# servers: the cores have room); their output follows the tests'.
checks_log="$(mktemp)"
scripts/checks.sh >"$checks_log" 2>&1 &
checks=$!
echo "== pytest (and scripts/checks.sh beside it)" >&2
status=0
# 3 workers on 2 cores; a file's tests on one worker (tests/conftest.py); PAVI_TEST_WORKERS=0: one process
.venv/bin/pytest -n "${PAVI_TEST_WORKERS:-3}" --dist loadgroup "$@" || status=$?
wait "$checks" || status=$?
cat "$checks_log" >&2
rm -f "$checks_log"
exit "$status"
