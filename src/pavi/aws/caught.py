"""What a job's caught errors say (Step Functions' ``{"Error", "Cause"}``, a Batch job's
description) and which lane each step took, with why the Lambda lane fell back when it did."""

from __future__ import annotations

import json
from typing import Any

from pavi.aws.lanes import configuration_error, fallback_reason

MAX_ERROR_CHARS = 2000


def lanes_taken(state: dict[str, Any]) -> dict[str, Any]:
    """Which lane retrieved the entries, and why the Lambda lane fell back to the Batch lane
    when it did (its error, without a stack trace)."""
    by = state.get("retrieved_by") or {}
    lane = "batch" if "retrieval_error" in state else str(by.get("lane") or "batch")
    return {"retrieval": lane, **fell_back(state.get("lambda_lane_error"), "retrieval", "retrieved them", "")}


def fell_back(error: Any, step: str, then: str, prefix: str) -> dict[str, str]:
    """Why a Lambda-lane step fell back to the Batch lane (its caught error): ``{prefix}fallback``
    (what happened), ``{prefix}fallback_reason`` (the metric's dimension) and, when the
    deployment is at fault, ``configuration_error``; {} when it did not fall back."""
    if not isinstance(error, dict):
        return {}
    name, cause = error_of(error)
    reason = fallback_reason(name)
    said = {
        f"{prefix}fallback": f"the Lambda lane's {step} failed ({name}: {cause}); the Batch lane {then}",
        f"{prefix}fallback_reason": reason,
    }
    if loud := configuration_error(step, reason):
        said["configuration_error"] = loud
    return said


def alignment_lane(state: dict[str, Any]) -> dict[str, str]:
    """Which lane aligned, and why the Lambda lane fell back when it did."""
    lane = {"alignment": str((state.get("aligned_by") or {}).get("lane") or "batch")}
    return {**lane, **fell_back(state.get("lambda_align_error"), "alignment", "aligned", "alignment_")}


def error_of(error: Any) -> tuple[str, str]:
    """Name and readable cause of a caught Step Functions error (``{"Error", "Cause"}``).

    A Lambda's Cause is the JSON of its exception; only its message is kept (never a stack
    trace). A Batch job's Cause is the whole job description; its status reason is kept.
    """
    if not isinstance(error, dict):
        return "UnknownError", str(error)
    name = str(error.get("Error") or "UnknownError")
    cause = str(error.get("Cause") or "")
    try:
        detail = json.loads(cause)
    except ValueError:
        detail = None
    if isinstance(detail, dict):
        if "errorMessage" in detail:
            cause = str(detail["errorMessage"])
        elif field(detail, "jobName") or field(detail, "statusReason"):
            cause = batch_cause(detail)
    return name, cause[:MAX_ERROR_CHARS]


def field(data: Any, name: str) -> Any:
    """A field of a Batch job description, in either spelling (the API's camelCase, or the
    PascalCase of a Step Functions error's Cause)."""
    if not isinstance(data, dict):
        return None
    return data.get(name, data.get(name[:1].upper() + name[1:]))


def batch_cause(job: dict[str, Any]) -> str:
    """What a failed Batch job tells a user: how many attempts it had, and its last attempt's
    status reason, exit code, container reason and log stream (issue 14, item 13)."""
    attempts = field(job, "attempts") or []
    last = attempts[-1] if attempts else {}
    container = field(last, "container") or field(job, "container") or {}
    parts = [str(field(last, "statusReason") or field(job, "statusReason") or "no reason given")]
    code = field(container, "exitCode")
    if code is not None:
        parts.append(f"exit code {code}")
    if field(container, "reason"):
        parts.append(str(field(container, "reason")))
    if field(container, "logStreamName"):
        parts.append(f"log stream {field(container, 'logStreamName')}")
    count = f" after {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}" if attempts else ""
    return f"Batch job {field(job, 'jobName') or '?'} failed{count}: " + "; ".join(parts)
