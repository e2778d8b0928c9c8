#!/usr/bin/env bash
# Install the offline checks of the SAM application into .tools/ (kept apart from .venv:
# their pins conflict with each other and with moto's): the SAM CLI with cfn-lint and the
# serverless rules, checkov, and the npm asl-validator. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh

SAM_PACKAGES=(aws-sam-cli==1.170.0 cfn-lint-serverless==0.3.6)
CHECKOV_PACKAGES=(checkov==3.3.30)
NODE_PACKAGES=(asl-validator@4.0.0)

tool_venv() {  # name, packages...
  local dir=".tools/$1" stamp; shift
  stamp="$(printf '%s\n' "$@" | sha256sum | cut -d' ' -f1)"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return; fi
  echo "setup-tools: installing $* into $dir" >&2
  rm -rf "$dir"
  "$(find_python)" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
  echo "$stamp" >"$dir/.stamp"
}

tool_venv sam "${SAM_PACKAGES[@]}"
tool_venv checkov "${CHECKOV_PACKAGES[@]}"

stamp="$(printf '%s\n' "${NODE_PACKAGES[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -f .tools/node/.stamp ] || [ "$(cat .tools/node/.stamp)" != "$stamp" ]; then
  if ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      echo "setup-tools: installing Debian's nodejs and npm (for asl-validator)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
      echo "setup-tools: npm is needed for asl-validator (install Node.js and npm)" >&2
      exit 1
    fi
  fi
  echo "setup-tools: installing ${NODE_PACKAGES[*]} into .tools/node" >&2
  rm -rf .tools/node && mkdir -p .tools/node
  npm install --silent --no-audit --no-fund --prefix .tools/node "${NODE_PACKAGES[@]}" >/dev/null
  echo "$stamp" >.tools/node/.stamp
fi
