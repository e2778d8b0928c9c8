"""A job's modelled wall time and cost on AWS, before and after the alignment was sized to the job
(issue 29): 10, 1,000 and 10,000 entries, and a titin job.

    .venv/bin/python benchmarks/alignment_sizing.py [--json]

Before: every job aligned by Clustal Omega on one thread, in the template's one alignment task
(1 vCPU, 4 GiB), proteins capped at 8,000 residues. After: the aligner and the task the
validation chooses (:func:`pavi.aws.alignment_task.plan`: the measured model of
:mod:`pavi.domain.alignment_model`, the template's floor, ceiling and wall-time target).

- The alignment's time is the model's (one thread, divided by the task's threads as measured);
  Clustal Omega's Batch job stops after 2 attempts of 3,600 s (the job definition's timeout), so a
  longer alignment never finishes; a job needing more than its task's memory is killed.
- The other steps: their times per entry in the 10,000-entry job measured here
  (``benchmarks/array_job.py``, ``STEPS``), with the retrieval's children side by side as on AWS
  (100 entries each); the start-ups no local run has (Batch's scheduling, Fargate's task start,
  Lambda cold starts, Step Functions' states, S3's latency) from ``benchmarks/lanes.py``'s
  ``STARTUP``, low and high.
- The cost: ``benchmarks/cost_model.py``'s, on-demand Fargate, with the alignment task's own
  vCPUs, memory and time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from cost_model import MEASURED, cost  # noqa: E402
from lanes import STARTUP, aws_model  # noqa: E402

from pavi.aws.alignment_task import plan  # noqa: E402
from pavi.aws.lanes import LAMBDA_LANE_LIMITS  # noqa: E402
from pavi.domain.alignment_model import needs, wall_seconds  # noqa: E402
from pavi.domain.errors import JobSizeError  # noqa: E402

# (name, entries, sequences, longest residues)
SCENARIOS = [
    ("10 entries", 10, 10, 1000),
    ("1,000 entries", 1000, 1000, 1000),
    ("10,000 entries (33 residues: the job measured)", 10_000, 10_000, 33),
    ("10,000 entries", 10_000, 10_000, 1000),
    ("titin: TTN and Ttn isoforms, 5 orthologs", 7, 7, 35_991),
]
# Seconds per entry of the steps other than the alignment, in the 10,000-entry job (array_job.py,
# 2026-12-04, FAMSA aligning): validation, one retrieval child's (100 entries), preparation, collection
STEPS = {"validation": 0.0031, "retrieval_child_per_entry": 0.047, "preparation": 0.0059, "collection": 0.00003}
BEFORE_TASK = (1.0, 4096)  # the template's alignment task before issue 29
BEFORE_LONGEST = 8000
TIMEOUT_SECONDS = 2 * 3600  # the alignment job definition's two attempts of 3,600 s


def lane_of(entries: int, longest: int) -> str:
    fits = entries <= LAMBDA_LANE_LIMITS["entries"] and longest <= LAMBDA_LANE_LIMITS["longest_protein"]
    return "lambda" if fits else "batch"


def other_steps(entries: int, lane: str) -> dict[str, float]:
    children = min(entries, 100) if lane == "batch" else entries  # the children run side by side
    return {
        "validation": STEPS["validation"] * entries,
        "retrieval": STEPS["retrieval_child_per_entry"] * children,
        "preparation": STEPS["preparation"] * entries,
        "collection": STEPS["collection"] * entries,
    }


def outcome(entries: int, sequences: int, longest: int, before: bool) -> dict[str, Any]:
    lane = lane_of(entries, longest)
    if before:
        if longest > BEFORE_LONGEST:
            return {"outcome": f"refused: proteins were capped at {BEFORE_LONGEST:,} residues"}
        modelled = needs("clustalo", sequences, longest)
        aligner, vcpus, memory, seconds = "clustalo", *BEFORE_TASK, modelled.seconds
        if modelled.memory_mib > memory:
            return {"outcome": f"killed: Clustal Omega needs about {modelled.memory_mib:,} MiB of {memory:,}"}
    else:
        try:
            planned = plan(sequences, longest)
        except JobSizeError as error:
            return {"outcome": f"refused: {error.problems[0].message}"}
        task = planned["alignment_resources"]
        aligner, vcpus, memory = planned["aligner"], float(task["vcpus"]), int(task["memory"])
        seconds = wall_seconds(aligner, float(task["modelled_seconds"]), vcpus)
    if lane == "batch" and seconds > TIMEOUT_SECONDS:
        return {"outcome": f"timed out: {aligner} needs about {seconds:,.0f} s, past 2 attempts of 3,600 s"}
    steps = {**other_steps(entries, lane), "alignment": seconds}
    low, high = aws_model(steps, lane, entries)
    row = cost(entries, MEASURED, spot=False, lane=lane, alignment=(seconds, vcpus, memory / 1024))
    return {
        "outcome": "completes",
        "lane": lane,
        "aligner": aligner,
        "task": f"{vcpus:g} vCPU, {memory:,} MiB" if lane == "batch" else "the Lambda lane's function",
        "alignment_seconds": round(seconds, 1),
        "wall_seconds": [low, high],
        "usd": row["usd_total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [
        {"scenario": name, "before": outcome(*figures, before=True), "after": outcome(*figures, before=False)}
        for name, *figures in SCENARIOS
    ]
    if args.json:
        print(json.dumps({"startup": STARTUP, "steps_per_entry": STEPS, "jobs": rows}, indent=1))
        return
    for row in rows:
        print(row["scenario"])
        for when in ("before", "after"):
            figures = row[when]
            if figures["outcome"] != "completes":
                print(f"  {when:<6} {figures['outcome']}")
                continue
            print(
                f"  {when:<6} {figures['lane']} lane, {figures['aligner']} in {figures['task']}: alignment "
                f"{figures['alignment_seconds']:,.1f} s, job {figures['wall_seconds'][0]:,.0f}-"
                f"{figures['wall_seconds'][1]:,.0f} s on AWS, "
                f"{figures['usd']:.4f} USD"
            )


if __name__ == "__main__":
    main()
