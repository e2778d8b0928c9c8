"""What one job costs in AWS, for N entries, from the template, the ASL and measured durations.

    .venv/bin/python benchmarks/cost_model.py [--entries 10 100 1000] [--measure] [--json]

- Lanes (issue 15): ``lambda`` (the entries retrieved in one Lambda invocation, Clustal
  Omega in a Lambda: no Fargate task) or ``batch`` (one retrieval array job of
  ``max(2, N/100)`` children, and the alignment job).
- State transitions: the states a completed job enters, counted by walking
  ``statemachine/pipeline.asl.json``'s success path in that lane.
- Lambda GB-seconds: each step function's memory (``template.yaml``) times its duration,
  billed per millisecond; arm64 prices.
- Batch on Fargate: each job's vCPU and memory (the template's defaults) times its
  duration, with Fargate's one-minute minimum per task; Spot (the template's default) and
  on-demand prices.
- S3 requests: counted per step from what the code does (see ``s3_requests``).

Durations: ``--measure`` runs a job of 10 conformance entries through the local state
machine (``pavi.local``) and uses each step's measured time (a local process stands in for
a Fargate task, so the one-minute minimum dominates the retrieval anyway); without it the
figures measured on 2026-11-28 (``MEASURED``) are used. The alignment's duration grows
about with N squared (Clustal Omega's distance matrix); it is scaled from the measure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pavi.aws.lanes import LAMBDA_LANE_LIMITS  # noqa: E402
from pavi.local.template import StackModel  # noqa: E402

# Public list prices, us-east-1, as published by AWS in 2025 (update them here, with the date).
PRICES_AS_OF = "2025 list prices, us-east-1"
PRICE = {
    "sfn_transition": 0.025 / 1000,
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_gb_second_x86": 0.0000166667,  # the alignment function (an x86_64 image)
    "lambda_request": 0.20 / 1_000_000,
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    "fargate_spot_vcpu_hour": 0.01334,  # Spot prices vary by region and time; about 70% off
    "fargate_spot_gb_hour": 0.00146,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "api_request": 3.50 / 1_000_000,
    # Express workflows (the synchronous call): per request, and per GB-second of 64-MB, 100-ms steps
    "express_request": 1.00 / 1_000_000,
    "express_gb_second": 0.00001667,
}
EXPRESS_BILLED_GB = 64 / 1024
EXPRESS_OVERHEAD_S = 0.1  # per job: the interpreter's own time between steps (benchmarks/sync_call.py)
FARGATE_MINIMUM_SECONDS = 60
PREVIOUS_DESIGN_10_ENTRIES = 0.15  # the earlier design's estimate for a 10-entry job, USD

# Measured with --measure on this project's 2-core machine, 10 conformance entries
# (retrieval_child: one child of the array job, 5 entries in one process).
MEASURED = {
    "ValidateFunction": 0.09,
    "RetrieveFunction": 0.25,
    "PrepareAlignmentFunction": 0.20,
    "CollectResultsFunction": 0.13,
    "retrieval_child": 0.68,
    "retrieval_child_entries": 5,
    "alignment_job_10": 0.93,
}
LANE_TARGETS = {
    "ChooseLane": {"lambda": "RetrieveInLambda", "batch": "RetrieveSequences"},
    "ChooseAlignmentLane": {"lambda": "AlignInLambda", "batch": "AlignProteins"},
}


def success_path_transitions(asl: dict[str, Any], lane: str) -> int:
    """States entered by a job that completes in that lane: the top-level success path
    (``ChooseLane`` and ``ChooseAlignmentLane`` go the lane's way; ``CanAlign`` by its first branch)."""
    count, name, states = 0, asl["StartAt"], asl["States"]
    while name:
        state = states[name]
        count += 1
        if name in LANE_TARGETS:
            name = LANE_TARGETS[name][lane]
        else:
            name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state.get("Next", "")
    return count


def s3_requests(entries: int, processes: int) -> dict[str, int]:
    """S3 requests of a completed job (the job bucket and s3:// genomes), by kind; ``processes``
    retrieve the entries (each reads a genome's .fai and .gzi once)."""
    puts = entries + 1  # validation: entries, manifest
    gets = 0.0
    gets += processes * (1 + 2) + entries * (1 + 1.3)  # retrieval: manifest, indexes; entry, 1.3 ranged reads
    puts += entries * 2  # retrieval: protein and seqinfo
    gets += 1 + 2 * entries  # preparation: one LIST, every per-entry file
    puts += 3  # preparation: alignment input, merged seqinfo, prepared
    gets += 1
    puts += 1  # alignment
    gets += 3
    puts += 2  # collection
    return {"put": puts, "get": round(gets)}


def memory_gb(model: StackModel, function: str) -> float:
    template = model.template
    props = template["Resources"][function]["Properties"]
    return int(props.get("MemorySize", template["Globals"]["Function"]["MemorySize"])) / 1024


def job_size(model: StackModel, vcpu_parameter: str, memory_parameter: str) -> tuple[float, float]:
    parameters = model.template["Parameters"]
    return float(parameters[vcpu_parameter]["Default"]), int(parameters[memory_parameter]["Default"]) / 1024


def cost(
    entries: int,
    durations: dict[str, float],
    spot: bool = True,
    lane: str = "batch",
    alignment: tuple[float, float, float] | None = None,
) -> dict[str, Any]:
    """One job's cost in a lane: ``lambda`` or ``batch`` through the Standard workflow, or
    ``express``: the Lambda lane through the Express workflow (the synchronous call), billed
    per request and per GB-second instead of per state transition. ``alignment``: the Batch
    alignment task's seconds, vCPUs and GB when a model gives them (benchmarks/alignment_sizing.py),
    instead of the template's default task for a time grown with N squared from the measure."""
    if lane == "express":
        row = cost(entries, durations, spot, "lambda")
        seconds = row.pop("lambda_seconds") + EXPRESS_OVERHEAD_S
        billed = -(-seconds // 0.1) * 0.1  # 100-ms steps
        express = PRICE["express_request"] + billed * EXPRESS_BILLED_GB * PRICE["express_gb_second"]
        row["usd"]["step_functions"] = round(express, 6)
        row |= {"lane": "express", "state_transitions": 0, "express_billed_s": round(billed, 1)}
        row["usd_total"] = round(sum(row["usd"].values()), 5)
        return row
    from pavi.aws.lanes import plan_array

    model = StackModel.load(REPO)
    path, _ = model.state_machine()
    asl = json.loads(path.read_text())
    transitions = success_path_transitions(asl, lane)
    functions = ["ValidateFunction", "PrepareAlignmentFunction", "CollectResultsFunction"]
    seconds = dict(durations)
    retrieval_tasks = 0
    retrieval_vcpu, retrieval_gb = job_size(model, "RetrievalVcpu", "RetrievalMemory")
    align_seconds_here = durations["alignment_job_10"] * (entries / 10) ** 2  # Clustal Omega's time grows ~N²
    align_vcpu, align_gb = job_size(model, "AlignmentVcpu", "AlignmentMemory")
    if alignment is not None:
        align_seconds_here, align_vcpu, align_gb = alignment
    align_lambda_gb_s = 0.0
    if lane == "lambda":
        functions.append("RetrieveFunction")
        seconds["RetrieveFunction"] = durations["RetrieveFunction"] * entries / 10  # measured with 10
        align_lambda_gb_s = memory_gb(model, "AlignFunction") * align_seconds_here
    else:
        plan = plan_array(entries)
        retrieval_tasks = plan.children
        per_entry = durations["retrieval_child"] / durations["retrieval_child_entries"]
        child_seconds = max(FARGATE_MINIMUM_SECONDS, per_entry * plan.per_child)
    lambda_gb_s = sum(memory_gb(model, name) * seconds[name] for name in functions)
    align_seconds = 0.0 if lane == "lambda" else max(FARGATE_MINIMUM_SECONDS, align_seconds_here)
    vcpu_s = align_seconds * align_vcpu + (retrieval_tasks * child_seconds * retrieval_vcpu if retrieval_tasks else 0)
    gb_s = align_seconds * align_gb + (retrieval_tasks * child_seconds * retrieval_gb if retrieval_tasks else 0)
    vcpu_price = PRICE["fargate_spot_vcpu_hour" if spot else "fargate_vcpu_hour"] / 3600
    gb_price = PRICE["fargate_spot_gb_hour" if spot else "fargate_gb_hour"] / 3600
    requests = s3_requests(entries, retrieval_tasks or 1)
    parts = {
        "step_functions": transitions * PRICE["sfn_transition"],
        "lambda": lambda_gb_s * PRICE["lambda_gb_second_arm64"]
        + align_lambda_gb_s * PRICE["lambda_gb_second_x86"]
        + (len(functions) + (lane == "lambda")) * PRICE["lambda_request"],
        "batch_fargate": vcpu_s * vcpu_price + gb_s * gb_price,
        "s3": requests["put"] * PRICE["s3_put"] + requests["get"] * PRICE["s3_get"],
        "api": 1 * PRICE["api_request"],  # the submission; status polls add 3.5e-6 USD each
    }
    return {
        "entries": entries,
        "lane": lane,
        "fargate": "spot" if spot else "on-demand",
        "fargate_tasks": retrieval_tasks + (lane == "batch"),
        "state_transitions": transitions,
        "lambda_gb_seconds": round(lambda_gb_s + align_lambda_gb_s, 3),
        "batch_vcpu_seconds": round(vcpu_s, 1),
        "batch_gb_seconds": round(gb_s, 1),
        "s3_requests": requests,
        "usd": {k: round(v, 6) for k, v in parts.items()},
        "usd_total": round(sum(parts.values()), 5),
        "lambda_seconds": sum(seconds[name] for name in functions) + (align_seconds_here if lane == "lambda" else 0),
    }


def measure() -> dict[str, float]:
    """Each step's duration in a 10-entry job through the local state machine."""
    from pavi.local.stack import EmulatedStack

    payload = json.loads((REPO.parent / "shared" / "conformance" / "genbank" / "payload.json").read_text())[:10]
    for entry in payload:
        entry["fasta_file_url"] = entry["fasta_file_url"].replace(
            "ORACLE_DIR/public", str(REPO.parent / "shared" / "conformance" / "genbank")
        )
    by_function: dict[str, list[float]] = {}
    jobs: dict[str, list[float]] = {"retrieval": [], "alignment": []}
    with EmulatedStack() as stack:
        for lane in ("lambda", "batch"):
            _, arn = stack.start({"seq_regions": payload, "lane": lane})
            if stack.wait(arn, 600)["status"] != "SUCCEEDED":
                raise RuntimeError(f"the measuring job failed in the {lane} lane")
        for name, started, ended in stack.invocations:
            by_function.setdefault(name, []).append(ended - started)
        for job in stack.batch.jobs.values():
            kind = "alignment" if job.command[0] == "clustalo" else "retrieval"
            jobs[kind] += [(a["stoppedAt"] - a["startedAt"]) / 1000 for a in job.attempts]
    return {
        **{name: statistics.median(values) for name, values in by_function.items()},
        "retrieval_child": statistics.median(jobs["retrieval"]),
        "retrieval_child_entries": 5,  # 10 entries in 2 children
        "alignment_job_10": statistics.median(jobs["alignment"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--measure", action="store_true", help="measure step durations with a local 10-entry job")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    durations = {**MEASURED, **(measure() if args.measure else {})}
    lanes, fargate = ("express", "lambda", "batch"), (True, False)
    # the Lambda lane only for the jobs ChooseLane would send there (by the entry count)
    fits = LAMBDA_LANE_LIMITS["entries"]
    rows = [
        cost(n, durations, spot, lane)
        for lane in lanes
        for n in args.entries
        for spot in fargate
        if lane == "batch" or n <= fits
    ]
    for row in rows:
        row.pop("lambda_seconds", None)
    if args.json:
        print(json.dumps({"prices": PRICES_AS_OF, "durations_s": durations, "jobs": rows}, indent=1))
        return
    print(f"prices: {PRICES_AS_OF}; step durations (s): " + ", ".join(f"{k} {v:.2f}" for k, v in durations.items()))
    print(
        f"{'lane':>6} {'entries':>7} {'fargate':>9} {'tasks':>5} {'transitions':>11} {'Lambda GB-s':>11} "
        f"{'vCPU-s':>8} {'GB-s':>8} {'S3 PUT/GET':>11} {'USD/job':>9}  breakdown"
    )
    for row in rows:
        s3 = f"{row['s3_requests']['put']}/{row['s3_requests']['get']}"
        parts = ", ".join(f"{k} {v:.5f}" for k, v in row["usd"].items())
        print(
            f"{row['lane']:>6} {row['entries']:>7} {row['fargate']:>9} {row['fargate_tasks']:>5} "
            f"{row['state_transitions']:>11} {row['lambda_gb_seconds']:>11} {row['batch_vcpu_seconds']:>8} "
            f"{row['batch_gb_seconds']:>8} {s3:>11} {row['usd_total']:>9.5f}  {parts}"
        )
    ten = next((r for r in rows if r["entries"] == 10 and r["fargate"] == "spot" and r["lane"] == "lambda"), None)
    if ten:
        print(
            f"10 entries on Spot: {ten['usd_total']:.4f} USD, {PREVIOUS_DESIGN_10_ENTRIES / ten['usd_total']:.0f}x "
            f"under the previous design's estimate of {PREVIOUS_DESIGN_10_ENTRIES} USD"
        )


if __name__ == "__main__":
    main()
