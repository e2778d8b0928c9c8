#!/usr/bin/env bash
# Set everything up, then run the whole pipeline on the bundled demo data, offline: the
# unmodified state machine (statemachine/pipeline.asl.json) executed locally, its Lambda
# steps by the real handlers, its Batch steps by the real entrypoint as local processes,
# storage a local S3. The demo job takes the Lambda lane (as on AWS: it is small); it is then
# run again in the Batch lane (an array job and the alignment job, in their containers) and
# the two results compared. The results are copied to pavi-results/demo/ (or the folder
# given), the Batch lane's to pavi-results/demo/batch-lane/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out="${1:-pavi-results/demo}"
rm -rf "$out"
.venv/bin/pavi run demo/payload.json --out "$out"
echo
echo "The same job in the Batch lane:"
.venv/bin/pavi run demo/payload.json --out "$out/batch-lane" --lane batch 2>&1 | tail -n 3
for result in alignment-output.aln aligned_seq_info.json; do
  cmp -s "$out/$result" "$out/batch-lane/$result" && echo "  $result: byte-identical in both lanes" \
    || { echo "  $result: the lanes differ" >&2; exit 1; }
done
echo
echo "Results in $out/:"
ls -1 "$out" "$out/sequences"
echo
echo "The alignment, $out/alignment-output.aln (first block):"
sed -n '1,10p' "$out/alignment-output.aln"
echo
echo "Where the demo variants fall: $out/aligned_seq_info.json; the run: $out/run.log"
echo "The job's page (picture, variants, alignment, tree; open it in a browser): $out/report.html"
