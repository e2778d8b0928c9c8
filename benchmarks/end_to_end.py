"""Wall time of whole jobs through the local state machine, for growing numbers of entries.

    .venv/bin/python benchmarks/end_to_end.py [--entries 10 100 500] [--json]

Each job is the conformance transcripts (``../shared/conformance/genbank``) repeated under
new IDs up to N entries, run by :class:`pavi.local.stack.EmulatedStack` exactly as ``pavi run``
runs it (in the lane the state machine chooses; Batch jobs as local processes in their
containers). Reported: the wall time, the report's steps (retrieval, alignment,
collection...), and the state machine's own overhead (the execution's time when no step was
doing its own work).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pavi.local.runner import union_seconds  # noqa: E402
from pavi.local.stack import EmulatedStack  # noqa: E402

GENBANK = REPO.parent / "shared" / "conformance" / "genbank"


def payload(entries: int) -> list[dict[str, Any]]:
    base: list[dict[str, Any]] = json.loads((GENBANK / "payload.json").read_text())
    items = []
    for n in range(entries):
        entry = dict(base[n % len(base)])
        entry["fasta_file_url"] = str(entry["fasta_file_url"]).replace("ORACLE_DIR/public", str(GENBANK))
        entry["unique_entry_id"] = f"e{n:04d}_{entry['unique_entry_id']}"[:200]
        entry["base_seq_name"] = f"s{n:04d}_{entry['base_seq_name']}"
        items.append(entry)
    return items


def measure(entries: int) -> dict[str, Any]:
    started = time.monotonic()
    with EmulatedStack() as stack:
        ready = time.monotonic()
        job_id, arn = stack.start(payload(entries))
        description = stack.wait(arn, 7200)
        execution = time.monotonic() - ready
        report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
        working = union_seconds(stack.work_intervals())
    steps = {step["step"]: step["seconds"] for step in report["steps"]}
    return {
        "entries": entries,
        "status": description["status"],
        "wall_s": round(time.monotonic() - started, 1),
        "setup_s": round(ready - started, 1),
        "execution_s": round(execution, 1),
        "steps_s": steps,
        "orchestration_s": round(max(0.0, execution - working), 2),
        "orchestration_share": round(max(0.0, execution - working) / execution, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for n in args.entries:
        row = measure(n)
        rows.append(row)
        if not args.json:
            steps = ", ".join(f"{k} {v:.1f}s" for k, v in row["steps_s"].items())
            print(
                f"{n:>5} entries: {row['status']}, wall {row['wall_s']}s (setup {row['setup_s']}s); "
                f"{steps}; state machine overhead {row['orchestration_s']}s ({100 * row['orchestration_share']:.1f}%)",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
