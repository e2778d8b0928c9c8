"""Both lanes side by side: the same results, each step's time here, and a model of the time on AWS.

    .venv/bin/python benchmarks/lanes.py [--entries 2 10 51 0] [--json]

Each job (the demo's 2 entries; 0: the 49 variant vectors of ``conformance/variants/``; else
the first N of the 51 conformance entries) runs through
the local state machine twice, its lane forced (``lambda``, then ``batch``), as ``pavi run
--lane`` runs it. Reported per job and lane: whether ``alignment-output.aln`` and
``aligned_seq_info.json`` are byte-identical between the lanes, the wall time of the
execution, and each step's own time (the job report's steps).

The AWS model adds to the measured step times the start-up latencies no local run has,
from AWS's documentation and published measurements (``STARTUP``, cited there): a Lambda
function's cold start (zip and container image), AWS Batch's scheduling and a Fargate task's
start with its image pull, and Step Functions' own time per state. The local step times
are an upper bound for the in-process work (2 busy cores here; each Lambda has its own).
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

from pavi.local.stack import EmulatedStack  # noqa: E402

GENBANK = REPO.parent / "shared" / "conformance" / "genbank"

# Start-up latencies on AWS, in seconds (low, high). Sources:
# - Fargate: "about 30 seconds" for a task to start, image pull included (AWS Batch on Fargate
#   and ECS documentation; issue 15 quotes 30-45 s and more in practice); AWS Batch adds its
#   scheduling (a job goes SUBMITTED -> RUNNABLE -> STARTING), several seconds (AWS Batch user
#   guide, job states).
# - Lambda cold start: a Python zip function's runtime start is some 100-500 ms before its own
#   imports (AWS Lambda execution environment lifecycle, "Init phase"; the init of these
#   functions is measured in benchmarks/cold_start.py); a container-image function's, with
#   lazy loading of the image, 0.5-2 s (Brooker et al., "On-demand Container Loading in AWS
#   Lambda", USENIX ATC 2023).
# - Step Functions: a Standard workflow's state transition and a Lambda task's invoke cost
#   tens of milliseconds each; 0.02-0.1 s per state entered.
# - S3: a small GET or PUT in the same region takes some 10-50 ms; the S3 performance guide
#   plans for 100-200 ms of first-byte latency in the tail. Here the job store is a local
#   server (about 1-3 ms a request), so the model adds 0.02-0.15 s per round of requests
#   that cannot overlap (``s3_rounds``).
STARTUP = {
    "fargate_task": (30.0, 45.0),
    "batch_scheduling": (5.0, 15.0),
    "lambda_cold_zip": (0.3, 0.8),
    "lambda_cold_image": (0.5, 2.0),
    "state": (0.02, 0.1),
    "s3_request": (0.02, 0.15),
}
WRITERS, RETRIEVERS_LAMBDA, RETRIEVERS_CHILD = 16, 16, 8  # requests in flight at once (the code's pools)


def s3_rounds(entries: int, lane: str) -> int:
    """Rounds of S3 requests a job waits for one after the other: the validation's entry writes
    (16 at once) and manifest; the retrieval's manifest, entries, and per entry its genome
    index (.fai, .gzi), ~1.3 ranged reads and two writes (16 at once in the Lambda, 8 in a Batch
    child, children side by side); the preparation's listing, reads and three writes; the
    alignment's read and write; the collection's three reads and two writes."""
    share = entries if lane == "lambda" else min(entries, 100)
    at_once = RETRIEVERS_LAMBDA if lane == "lambda" else RETRIEVERS_CHILD
    validation = -(-entries // WRITERS) + 1
    retrieval = 1 + -(-share // 16) + -(-share // at_once) * 5
    preparation = 1 + -(-2 * entries // 16) + 3
    return validation + retrieval + preparation + 2 + 5


OUTPUTS = ("alignment-output.aln", "aligned_seq_info.json")
STATES_ENTERED = 9  # a completed job, in either lane (benchmarks/cost_model.py walks the ASL)


def variant_vectors() -> list[dict[str, Any]]:
    """The 49 variant cases of ``conformance/variants/`` (inline variants, local genomes)."""
    folder = GENBANK.parent / "variants"
    text = (folder / "variants_payload.json").read_text().replace("file://ORACLE_DIR/", f"file://{GENBANK.parent}/")
    vectors: list[dict[str, Any]] = json.loads(text)
    return vectors


def payload(entries: int) -> list[dict[str, Any]]:
    if entries == 0:
        return variant_vectors()
    if entries == 2:
        demo: list[dict[str, Any]] = json.loads((REPO / "demo" / "payload.json").read_text())
        for entry in demo:
            entry["fasta_file_url"] = str(REPO / "demo" / entry["fasta_file_url"])
        return demo
    base: list[dict[str, Any]] = json.loads((GENBANK / "payload.json").read_text())[:entries]
    for entry in base:
        entry["fasta_file_url"] = str(entry["fasta_file_url"]).replace("ORACLE_DIR/public", str(GENBANK))
    return base


def run(stack: EmulatedStack, entries: list[dict[str, Any]], lane: str) -> dict[str, Any]:
    began = time.monotonic()
    job_id, arn = stack.start({"seq_regions": entries, "lane": lane})
    description = stack.wait(arn, 1800)
    wall = time.monotonic() - began
    if description["status"] != "SUCCEEDED":
        raise RuntimeError(f"{len(entries)} entries in the {lane} lane: {description.get('cause')}")
    report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    return {
        "wall": round(wall, 2),
        "steps": {step["step"]: step["seconds"] for step in report["steps"]},
        "lanes": report["lanes"],
        "outputs": [
            stack.read(f"results/{job_id}/{name}") for name in ("alignment-output.aln", "aligned_seq_info.json")
        ],
    }


def aws_model(steps: dict[str, float], lane: str, entries: int, cold: bool = True) -> tuple[float, float]:
    """Low and high wall time on AWS of a job whose steps took ``steps`` here: with cold
    Lambda starts everywhere (the first job after a quiet spell), or with warm functions.
    Batch's scheduling and Fargate's task starts are paid by every job."""
    work = sum(steps.values())
    low = high = work
    for bound, index in ((0, 0), (1, 1)):
        total = STATES_ENTERED * STARTUP["state"][index] + s3_rounds(entries, lane) * STARTUP["s3_request"][index]
        if cold:
            total += 3 * STARTUP["lambda_cold_zip"][index]  # validation, preparation, collection
        if lane == "lambda" and cold:
            total += STARTUP["lambda_cold_zip"][index] + STARTUP["lambda_cold_image"][index]
        elif lane == "batch":  # the retrieval array job, then the alignment job: Batch, then a Fargate task
            total += 2 * (STARTUP["batch_scheduling"][index] + STARTUP["fargate_task"][index])
        if bound == 0:
            low += total
        else:
            high += total
    return round(low, 1), round(high, 1)


def measure(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with EmulatedStack() as stack:
        for size in sizes:
            entries = payload(size)
            by_lane = {lane: run(stack, entries, lane) for lane in ("lambda", "batch")}
            identical = by_lane["lambda"]["outputs"] == by_lane["batch"]["outputs"]
            for lane, result in by_lane.items():
                rows.append(
                    {
                        "entries": len(entries),
                        "lane": lane,
                        "identical_to_other_lane": identical,
                        "lanes_taken": result["lanes"],
                        "local_wall": result["wall"],
                        "steps": result["steps"],
                        "aws_model_seconds": aws_model(result["steps"], lane, len(entries)),
                        "aws_model_warm_seconds": aws_model(result["steps"], lane, len(entries), cold=False),
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[2, 10, 51, 0], help="0: the variant vectors")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = measure(args.entries)
    if args.json:
        print(json.dumps({"startup_seconds": STARTUP, "jobs": rows}, indent=1))
        return
    for row in rows:
        steps = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in row["steps"].items())
        (low, high), (warm_low, warm_high) = row["aws_model_seconds"], row["aws_model_warm_seconds"]
        print(
            f"{row['entries']:>3} entries, {row['lane']:>6} lane: identical {row['identical_to_other_lane']}; "
            f"local {row['local_wall']:.1f}s ({steps}); AWS model {low:.1f}-{high:.1f}s cold, "
            f"{warm_low:.1f}-{warm_high:.1f}s warm"
        )


if __name__ == "__main__":
    main()
