#!/usr/bin/env bash
# Set everything up, then run every check: lint (ruff), types (mypy), the SAM application's
# offline checks (scripts/checks.sh) and the test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
echo "== ruff" >&2
.venv/bin/ruff check src tests benchmarks functions scripts
.venv/bin/ruff format --check src tests benchmarks functions scripts
echo "== mypy" >&2
.venv/bin/mypy
scripts/checks.sh
echo "== pytest" >&2
.venv/bin/pytest "$@"
