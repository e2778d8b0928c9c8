#!/usr/bin/env bash
# The offline checks of the SAM application (no AWS account or credentials needed):
#   sam validate --lint, cfn-lint with the serverless rules, asl-validator, checkov on the
#   template and on its translation to plain CloudFormation, and sam build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools.sh
source scripts/python.sh
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "== sam validate --lint" >&2
.tools/sam/bin/sam validate --lint --template template.yaml
for environment in dev prod; do .tools/sam/bin/sam validate --config-env "$environment" >/dev/null; done

echo "== cfn-lint (serverless rules)" >&2
.tools/sam/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules

echo "== asl-validator" >&2
.tools/node/node_modules/.bin/asl-validator --json-path statemachine/pipeline.asl.json --json-path statemachine/express.asl.json
# the validator must be able to fail: a state that points at no state is refused
sed 's/"Next": "CanAlign"/"Next": "NoSuchState"/' statemachine/pipeline.asl.json >"$scratch/broken.asl.json"
if .tools/node/node_modules/.bin/asl-validator --silent --json-path "$scratch/broken.asl.json"; then
  echo "checks: asl-validator accepted a broken state machine" >&2
  exit 1
fi

echo "== checkov (template and its CloudFormation translation)" >&2
.tools/sam/bin/python scripts/translate_template.py template.yaml >"$scratch/translated.template.json"
.tools/checkov/bin/checkov --config-file .checkov.yaml -f template.yaml -f "$scratch/translated.template.json"

echo "== sam build" >&2
# sam build needs the runtime's interpreter (python3.13) on PATH
PATH="$(dirname "$(find_python)"):$PATH" .tools/sam/bin/sam build --build-dir .aws-sam/build >"$scratch/build.log" 2>&1 \
  || { cat "$scratch/build.log" >&2; exit 1; }
.venv/bin/python benchmarks/package_sizes.py .aws-sam/build >&2
