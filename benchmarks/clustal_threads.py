"""Clustal Omega 1.2.4 with 1 thread and with more, on the 51 conformance proteins (issue 15).

    .venv/bin/python benchmarks/clustal_threads.py [--runs 3] [--threads 1 2] [--json]

Runs are interleaved (1, 2, 1, 2...) so that the machine's drift hits both alike; each run
reports its wall time and the CPU time of Clustal Omega (the children's user + system time),
and whether the output is byte-identical to the 1-thread one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE = REPO.parent / "shared" / "conformance" / "genbank"


def proteins() -> str:
    expected = json.loads((CONFORMANCE / "expected.json").read_text())
    return "".join(f">p{i}\n{protein}\n" for i, protein in enumerate(sorted(expected.values())))


def run(fasta: Path, threads: int, out: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = ["clustalo", "-i", str(fasta), "--outfmt=clustal", "--resno", "-o", str(out), "--force"]
    subprocess.run([*command, f"--threads={threads}"], check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        fasta = Path(scratch, "in.fa")
        fasta.write_text(proteins())
        times: dict[int, list[tuple[float, float]]] = {t: [] for t in args.threads}
        outputs: dict[int, bytes] = {}
        for _ in range(args.runs):
            for threads in args.threads:
                out = Path(scratch, f"out{threads}.aln")
                times[threads].append(run(fasta, threads, out))
                outputs[threads] = out.read_bytes()
    first = args.threads[0]
    result = {
        str(t): {
            "wall_s": round(statistics.median(w for w, _ in runs), 2),
            "cpu_s": round(statistics.median(c for _, c in runs), 2),
            "same_output_as_1_thread": outputs[t] == outputs[first],
        }
        for t, runs in times.items()
    }
    result["cpus"] = len(os.sched_getaffinity(0))  # type: ignore[assignment]
    print(json.dumps(result, indent=1) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
