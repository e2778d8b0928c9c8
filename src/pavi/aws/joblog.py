"""A readable account of a job: its steps with their times, and its entries' errors.

Built from the execution's history (Step Functions' ``GetExecutionHistory`` events, as
boto3 returns them) and the job report; the local runner writes it as ``run.log`` and the
API answers it on ``/logs``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

STEP_NAMES = {
    "ValidateInput": "validation",
    "RetrieveInLambda": "retrieval (Lambda lane)",
    "RetrieveSequences": "retrieval (Batch lane)",
    "PrepareAlignmentInput": "alignment-input preparation",
    "AlignInLambda": "alignment (Clustal Omega, Lambda lane)",
    "AlignProteins": "alignment (Clustal Omega, Batch lane)",
    "CollectResults": "result collection",
    "RecordFailure": "failure recording",
}
CAUSE_CHARS = 300


def _seconds(event: dict[str, Any], start: datetime | None) -> str:
    stamp = event.get("timestamp")
    if not isinstance(stamp, datetime) or start is None:
        return "        "
    return f"{(stamp - start).total_seconds():7.2f}s"


def _short(cause: str) -> str:
    try:
        detail = json.loads(cause)
    except ValueError:
        detail = None
    if isinstance(detail, dict):
        cause = str(detail.get("errorMessage") or detail.get("statusReason") or detail.get("StatusReason") or cause)
    cause = " ".join(cause.split())
    return cause if len(cause) <= CAUSE_CHARS else cause[: CAUSE_CHARS - 1] + "…"


def execution_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first (all pages)."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    return events


def history_lines(history: list[dict[str, Any]]) -> list[str]:
    """One line per step entered or left, per failed task, and the end of the execution."""
    start = history[0].get("timestamp") if history else None
    lines: list[str] = []
    for event in history:
        kind = event["type"]
        at = _seconds(event, start)
        if kind == "ExecutionStarted":
            lines.append(f"{at}  job started")
        elif kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name in STEP_NAMES:
                lines.append(f"{at}  {STEP_NAMES[name]}: started")
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in STEP_NAMES:
                lines.append(f"{at}  {STEP_NAMES[name]}: done")
        elif kind == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            lines.append(
                f"{at}  a {details.get('resourceType', 'task')} task failed: {details.get('error')}: "
                f"{_short(str(details.get('cause', '')))}"
            )
        elif kind == "ExecutionSucceeded":
            lines.append(f"{at}  job completed")
        elif kind in {"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}:
            ended: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            reason = f": {ended.get('error')}: {_short(str(ended.get('cause', '')))}" if ended else ""
            lines.append(f"{at}  job {kind.removeprefix('Execution').lower()}{reason}")
    return lines


def report_lines(report: dict[str, Any]) -> list[str]:
    """The job report, for people."""
    lines = [f"status: {report.get('status')}"]
    counts = report.get("counts") or {}
    if counts:
        lines.append(
            f"entries: {counts.get('entries')} ({counts.get('entries_failed', 0)} failed"
            + (f", {counts['entries_excluded']} left out of the alignment" if counts.get("entries_excluded") else "")
            + "); "
            + ("sequences aligned" if report.get("status") == "completed" else "sequences")
            + f": {counts.get('sequences')}; "
            f"alternative-protein errors: {counts.get('alternative_errors', 0)}"
        )
    lanes = report.get("lanes") or {}
    if lanes.get("retrieval"):
        lines.append(
            f"lanes: retrieval {lanes['retrieval']}"
            + (f", alignment {lanes['alignment']}" if lanes.get("alignment") else "")
            + "".join(f"; {lanes[key]}" for key in ("fallback", "alignment_fallback") if lanes.get(key))
        )
    alignment = (report.get("provenance") or {}).get("alignment") or {}
    if alignment.get("aligner_chosen_because"):
        task = alignment.get("task") or {}
        lines.append(
            f"aligner: {alignment.get('aligner', 'clustalo')} ({alignment['aligner_chosen_because']})"
            + (
                f"; task {task['vcpus']} vCPU, {task['memory']} MiB, modelled {task['modelled_wall_seconds']} s"
                f" ({task['chosen_because']})"
                if task.get("chosen_because")
                else ""
            )
        )
    if lanes.get("configuration_error"):
        lines.append(f"CONFIGURATION ERROR: {lanes['configuration_error'].removeprefix('configuration error: ')}")
    if report.get("error"):
        lines.append(f"error: {report['error'].get('error')}: {report['error'].get('cause')}")
    for step in report.get("steps", []):
        lines.append(f"  {step['step']:<12} {step['seconds']:8.2f}s")
    if report.get("seconds") is not None:
        lines.append(f"  {'total':<12} {report['seconds']:8.2f}s")
    for title, key in (
        ("failed entries", "failed_entries"),
        ("entries left out of the alignment", "excluded_entries"),
        ("alternative-protein errors (data)", "alternative_errors"),
    ):
        items = report.get(key) or []
        if items:
            lines.append(f"{title}:")
            lines += [
                f"  - {i['unique_entry_id']} {i.get('sequence_name', '')}: {i['error']}".replace("  :", ":")
                for i in items
            ]
    return lines


def report_step_lines(report: dict[str, Any]) -> list[str]:
    """The steps of a job that has no execution history (an Express execution's is not kept):
    each step's start and end from the report's marks, as :func:`history_lines` writes them."""
    started = report.get("started_at")
    if not started:
        return []
    begin = datetime.fromisoformat(str(started).replace("Z", "+00:00"))

    def at(mark: str) -> str:
        return f"{(datetime.fromisoformat(mark.replace('Z', '+00:00')) - begin).total_seconds():7.2f}s"

    lines = [f"{at(started)}  job started"]
    for step in report.get("steps", []):
        lines += [f"{at(step['started_at'])}  {step['step']}: started", f"{at(step['ended_at'])}  {step['step']}: done"]
    ended = report.get("ended_at")
    if ended:
        lines.append(f"{at(str(ended))}  job {report.get('status')}")
    return lines


def readable_log(history: list[dict[str, Any]], report: dict[str, Any] | None) -> str:
    steps = history_lines(history) if history else report_step_lines(report or {})
    lines = ["# steps (seconds since the job started)", *steps]
    if report:
        lines += ["", "# report", *report_lines(report)]
    return "\n".join(lines) + "\n"


def largest_state(history: list[dict[str, Any]]) -> tuple[int, str]:
    """The size in bytes of the largest state input or output in an execution's history, and where."""
    largest, where = 0, ""
    for event in history:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field_name in ("input", "output"):
                value = details.get(field_name)
                if isinstance(value, str) and len(value.encode()) > largest:
                    largest, where = len(value.encode()), f"{event['type']} {details.get('name', '')}".strip()
    return largest, where
