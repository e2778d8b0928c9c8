"""The collection step with issue 21's results, against the collection before them, in one run.

    .venv/bin/python benchmarks/collection.py [--entries 25] [--runs 5] [--sequences 1000] [--variants 200] [--json]

1. *A Lambda-lane job at its largest*: ``--entries`` conformance entries (the first with variants
   from the 49 vectors) retrieved and aligned once; then the collection (``collect_results`` on
   a local job store) timed ``--runs`` times with the new results and without them
   (``write_views`` skipped), interleaved; medians.
2. *1,000 sequences with 200 variants*: a synthetic alignment (``--sequences`` rows of 500
   columns, written in Clustal Omega's layout) and ``--variants`` embedded variants; the
   table, formats and matrix computed once in a child process: its time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
GENBANK = REPO.parent / "shared" / "conformance" / "genbank"


def lambda_lane_job(folder: Path, entries: int) -> dict[str, Any]:
    """A job state ready for the collection: its entries retrieved, prepared and aligned."""
    from pavi.aws import steps
    from pavi.domain.retrieval import retrieve_all

    payload = json.loads((GENBANK / "payload.json").read_text())[:entries]
    for entry in payload:
        entry["fasta_file_url"] = str(entry["fasta_file_url"]).replace("ORACLE_DIR/public", str(GENBANK))
    state = steps.validate_job({"seq_regions": payload}, "bench", str(folder))
    from pavi.domain.request import parse_job

    retrieve_all(parse_job(payload).seq_regions, state["sequences"], 8)
    state = steps.prepare_alignment(state)
    steps.align_in_lambda(state)
    return state


def time_collection(state: dict[str, Any], runs: int) -> dict[str, float]:
    from pavi.aws import steps

    with_views, without = [], []
    for _ in range(runs):
        started = time.perf_counter()
        steps.collect_results(state)
        with_views.append(time.perf_counter() - started)
        with mock.patch.object(steps, "write_views", return_value=({}, {})):
            started = time.perf_counter()
            steps.collect_results(state)
            without.append(time.perf_counter() - started)
    before, after = statistics.median(without), statistics.median(with_views)
    return {
        "before_seconds": round(before, 3),
        "after_seconds": round(after, 3),
        "added_seconds": round(after - before, 3),
    }


CHILD = r"""
import json, resource, sys, time
from pavi.domain.alignment_outputs import (
    ParsedAlignment, formats, identity_matrix_tsv, variant_rows, variant_table_json, variant_table_tsv,
)
clustal = open(sys.argv[1]).read()
seqinfo, info = (json.loads(open(path).read()) for path in sys.argv[2:4])
started = time.perf_counter()
parsed = ParsedAlignment.from_clustal(clustal)
rows = variant_rows(parsed, seqinfo, info)
texts = [variant_table_tsv(rows), variant_table_json(rows), identity_matrix_tsv(parsed)]
texts += formats(parsed, clustal).values()
print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "rows": len(rows),
    "bytes_written": sum(len(t) for t in texts),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def large(folder: Path, sequences: int, variants: int, columns: int = 500) -> dict[str, Any]:
    """A Clustal file of ``sequences`` rows in Clustal Omega's layout, and seq-info with variants."""
    rng = random.Random(1)
    base = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(columns))
    names = [f"seq{i:04d}_ref" if i % 2 == 0 else f"seq{i - 1:04d}_alt" for i in range(sequences)]
    rows = ["".join(c if rng.random() > 0.2 else rng.choice("ACDEFGHIKLMNPQRSTVWY-") for c in base) for _ in names]
    width = max(map(len, names)) + 6
    blocks = []
    for start in range(0, columns, 60):
        lines = [name.ljust(width) + row[start : start + 60] for name, row in zip(names, rows, strict=True)]
        lines.append(
            " " * width
            + "".join("*" if len({r[c] for r in rows}) == 1 else " " for c in range(start, min(start + 60, columns)))
        )
        blocks.append("\n".join(lines) + "\n")
    clustal = "CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n" + "\n".join(blocks)
    seqinfo: dict[str, dict[str, Any]] = {}
    info: dict[str, Any] = {}
    for k in range(0, sequences, 2):
        seqinfo[f"e{k}"] = {names[k]: {}, names[k + 1]: {"embedded_variants": []}}
    alts = [names[k + 1] for k in range(0, sequences, 2)]
    for v in range(variants):
        column = rng.randrange(1, columns)
        seqinfo[f"e{2 * (v % len(alts))}"][alts[v % len(alts)]]["embedded_variants"].append(
            {"variant_id": f"v{v}", "alignment_start_pos": column, "alignment_end_pos": column}
        )
    for entry in seqinfo.values():
        info.update(entry)
    paths = [folder / "a.aln", folder / "seqinfo.json", folder / "info.json"]
    paths[0].write_text(clustal)
    paths[1].write_text(json.dumps(seqinfo))
    paths[2].write_text(json.dumps(info))
    done = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], capture_output=True, text=True, check=True)
    return {"sequences": sequences, "variants": variants, "columns": columns, **json.loads(done.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pavi-collection-") as scratch:
        state = lambda_lane_job(Path(scratch) / "store", args.entries)
        results = {
            "lambda_lane_job": {"entries": args.entries, "runs": args.runs, **time_collection(state, args.runs)},
            "large": large(Path(scratch), args.sequences, args.variants),
            "this_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    print(json.dumps(results, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
