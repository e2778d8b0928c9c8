#!/usr/bin/env bash
# Set everything up, then run the pipeline's retrieval on the bundled demo data, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out="${1:-pavi-results/demo}"
.venv/bin/pavi retrieve demo/payload.json --out "$out"
echo
echo "Results in $out/:"
ls -1 "$out"
echo
echo "For example, $out/HLA00001_HLA_A-protein.fa:"
cat "$out/HLA00001_HLA_A-protein.fa"
