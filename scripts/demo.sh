#!/usr/bin/env bash
# Set everything up, then run the pipeline's retrieval on the bundled demo data, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out="${1:-pavi-results/demo}"
.venv/bin/pavi retrieve demo/payload.json --out "$out/sequences"
.venv/bin/pavi align "$out/sequences" --out "$out"
echo
echo "Results in $out/:"
ls -1 "$out" "$out/sequences"
echo
echo "The alignment, $out/alignment-output.aln (first block):"
sed -n '1,10p' "$out/alignment-output.aln"
echo
echo "Where the demo variants fall: $out/aligned_seq_info.json"
