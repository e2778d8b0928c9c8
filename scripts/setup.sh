#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine (root) or a developer's laptop
# (--tests: also what only the tests need):
# system packages (when apt-get is there and they are missing), a Python 3.13 virtual
# environment in .venv with the package and its development tools. Safe to run again:
# it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/python.sh
SYSTEM_PACKAGES=(clustalo bubblewrap)  # Clustal Omega 1.2.4; bubblewrap runs the local Batch jobs as their containers
if [ "${1:-}" = "--tests" ]; then
  # EMBOSS seqret reads the alignment's formats back; gffread writes GTF from GFF3; Chromium opens the job page
  SYSTEM_PACKAGES+=(emboss gffread chromium)
fi

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import sys; sys.exit(sys.version_info[:2] != (3, 13))"; then
  rm -rf .venv
  "$(find_python)" -m venv .venv
fi

# biocommons hgvs checks the HGVS descriptions in the tests. Only its parser and its
# protein-change builder are used: installed without its dependencies (psycopg2 would be built
# from source, and a database client, SeqRepo and IPython are not needed for these two).
TEST_ORACLES=(hgvs==1.5.7 parsley==1.3 bioutils==0.6.2 attrs==26.1.0)

stamp=.venv/.pavi-installed
wanted="$(cat pyproject.toml <(printf '%s\n' "${TEST_ORACLES[@]}") | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: installing the package and its development tools into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "${TEST_ORACLES[@]}"
  echo "$wanted" >"$stamp"
fi
