"""A very large job through the Batch lane locally: one retrieval array job, whatever the entries.

    .venv/bin/python benchmarks/array_job.py [--entries 10000] [--json]

The entries are one short designed gene (a 33-residue protein, three exons) under N IDs, so
that Clustal Omega does not dominate; the job runs in :class:`pavi.local.stack.EmulatedStack`
as ``pavi run`` runs it (each array child a process in its container, 4 at a time). Reported:
the outcome, the array's children, the largest state and the execution's history event count
(a Standard workflow allows 25,000 events and 256 KB of state), and each step's time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from support.genomes import GeneDesign, write_fasta  # noqa: E402

from pavi.aws.joblog import largest_state  # noqa: E402
from pavi.local.stack import EmulatedStack  # noqa: E402


def measure(entries: int, aligner: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pavi-array-") as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)  # the jobs' containers run as the images' user, not this one
        gene = GeneDesign().on_strand("+")
        url = str(write_fasta(folder, {"chrT": gene.genome}))
        payload = [gene.entry(url, unique_entry_id=f"entry_{n:05d}") for n in range(entries)]
        with EmulatedStack(log_dir=folder / "logs") as stack:
            began = time.monotonic()
            request: dict[str, Any] = {"seq_regions": payload} | ({"aligner": aligner} if aligner else {})
            job_id, arn = stack.start(request)
            description = stack.wait(arn, 7200)
            wall = time.monotonic() - began
            history = stack.history(arn)
            size, where = largest_state(history)
            # the execution's input is the request (over 200 KB it is a reference to it): the states after it
            after_input, _ = largest_state([e for e in history if e["type"] != "ExecutionStarted"])
            report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
            (parent,) = [job for job in stack.batch.jobs.values() if job.children]
            child_seconds = [
                (a["stoppedAt"] - a["startedAt"]) / 1000 for child in parent.children for a in child.attempts
            ]
    return {
        "entries": entries,
        "status": description["status"],
        "sequences_aligned": report["counts"].get("sequences"),
        "array_children": len(parent.children),
        "child_seconds_median": sorted(child_seconds)[len(child_seconds) // 2],
        "largest_state_bytes": size,
        "largest_state_at": where,
        "largest_state_after_input_bytes": after_input,
        "history_events": len(history),
        "wall_seconds": round(wall, 1),
        "steps": {step["step"]: step["seconds"] for step in report["steps"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--aligner", choices=["clustalo", "famsa"], help="the request's aligner (default: chosen)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.entries, args.aligner)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(
        f"{result['entries']:,} entries: {result['status']}, {result['sequences_aligned']:,} sequences aligned; "
        f"{result['array_children']} array children ({result['child_seconds_median']:.1f}s each, median); "
        f"largest state {result['largest_state_bytes']:,} bytes ({result['largest_state_at']}; after the input "
        f"{result['largest_state_after_input_bytes']:,}); "
        f"{result['history_events']} history events; {result['wall_seconds']}s wall"
    )
    print("steps: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result["steps"].items()))


if __name__ == "__main__":
    main()
