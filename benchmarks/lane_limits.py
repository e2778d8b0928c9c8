"""Clustal Omega's time (one thread) at the corners of the Lambda lane's limits (issue 15).

    .venv/bin/python benchmarks/lane_limits.py [--json]

The Lambda lane takes a job of at most 25 entries (50 proteins with variants), no protein
over 2,000 residues and 15,000 in all (``pavi.aws.lanes.LAMBDA_LANE_LIMITS``). Each corner is
built from the 51 conformance proteins (real ones, 37 to 2,999 residues): the most proteins
within the total, the fewest longest ones, and, past the limits, all 51 (23,664 residues).
Reported: the proteins, residues, the longest, and Clustal Omega's wall time with the
alignment job's flags and one thread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pavi.aws.lanes import LAMBDA_LANE_LIMITS  # noqa: E402

CONFORMANCE = REPO.parent / "shared" / "conformance" / "genbank"


def corners() -> dict[str, list[str]]:
    proteins = sorted(json.loads((CONFORMANCE / "expected.json").read_text()).values(), key=len)
    longest, total = LAMBDA_LANE_LIMITS["longest_protein"], LAMBDA_LANE_LIMITS["total_protein"]
    fitting = [p for p in proteins if len(p) <= longest]
    most: list[str] = []
    for protein in fitting:  # shortest first: the most proteins within the total
        if len(most) < 2 * LAMBDA_LANE_LIMITS["entries"] and sum(map(len, most)) + len(protein) <= total:
            most.append(protein)
    many_long: list[str] = []
    for protein in reversed(proteins):  # longest first, cut to the limit: the fewest longest
        cut = protein[:longest]
        if sum(map(len, many_long)) + len(cut) <= total:
            many_long.append(cut)
    middle = [p for p in fitting if 300 <= len(p) <= 1000][:20]
    return {
        "20 proteins of 300-1,000 aa (a typical job)": middle,
        "the most proteins within 15,000 aa": most,
        "the longest proteins, cut to 2,000 aa, within 15,000 aa": many_long,
        "all 51 (past the limits)": proteins,
    }


def align_seconds(proteins: list[str]) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        fasta = Path(scratch, "in.fa")
        fasta.write_text("".join(f">p{i}\n{p}\n" for i, p in enumerate(proteins)))
        started = time.perf_counter()
        command = ["clustalo", "-i", str(fasta), "--outfmt=clustal", "--resno", "-o", str(Path(scratch, "o.aln"))]
        subprocess.run([*command, "--threads=1"], check=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, proteins in corners().items():
        rows.append(
            {
                "corner": name,
                "proteins": len(proteins),
                "residues": sum(map(len, proteins)),
                "longest": max(map(len, proteins)),
                "seconds": round(align_seconds(proteins), 1),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for row in rows:
        print(
            f"{row['corner']:<58} {row['proteins']:>3} proteins, {row['residues']:>6,} aa, "
            f"longest {row['longest']:>5,}: {row['seconds']:>5.1f}s"
        )


if __name__ == "__main__":
    main()
