"""The synchronous call (``Prefer: wait=N`` on ``POST /api/pipeline-job/``) and where the
status of a job comes from when it ran in the Express workflow.

A job run through the Express workflow (``statemachine/express.asl.json``) has no Standard
execution unless it was handed to the Standard workflow, and an Express execution cannot be
described afterwards. Its status comes from the job store, in this order
(:func:`job_view`):

1. the Standard execution of the job, when there is one (a job started the usual way, or
   handed off);
2. the job's report (``results/{job}/job-report.json``): ``completed`` or ``failed``;
3. the request the Express validation kept (``work/{job}/request.json``): ``running`` for as
   long as an Express execution can live (5 minutes, and a minute's margin), ``failed``
   after that (the execution ended without a report: its log group says why);
4. otherwise there is no such job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EXPRESS_SECONDS = 300  # Express's longest execution
EXPRESS_MARGIN = 60
MAX_WAIT = 25  # API Gateway's integration time-out is 29 s; the function's is 29 s too
# RFC 7240: preferences are comma-separated; a parameter list after ";" may follow
_WAIT = re.compile(r"^\s*wait\s*=\s*\"?(\d{1,10})\"?\s*$", re.IGNORECASE)
STATUS = {
    "RUNNING": "running",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "TIMED_OUT": "failed",
    "ABORTED": "failed",
}


def prefer_wait(values: str | None) -> int | None:
    """The seconds a ``Prefer`` header asks to wait (at most :data:`MAX_WAIT`), or None.
    ``respond-async`` wins over ``wait`` (RFC 7240: the client asks for an answer at once).
    Every other preference is ignored, as RFC 7240 asks of preferences a server does not know."""
    preferences = (values or "").split(",")
    if any(p.split(";", 1)[0].strip().lower() == "respond-async" for p in preferences):
        return None
    for preference in preferences:
        found = _WAIT.match(preference.split(";", 1)[0])
        if found:
            return min(int(found[1]), MAX_WAIT)
    return None


@dataclass
class JobView:
    """A job's status (``running``, ``completed`` or ``failed``) and its Standard execution, if any."""

    status: str
    execution: dict[str, Any] | None = None
    detail: str | None = None


def _fetch(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """``GetObject``'s answer (``Body``, ``LastModified``), or None when there is no such key."""
    try:
        found: dict[str, Any] = s3.get_object(Bucket=bucket, Key=key)
        return found
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def job_view(sfn: Any, s3: Any, bucket_of: Callable[[], str], execution_arn: str, job_uuid: str) -> JobView | None:
    """Where the job stands (the module's rules), or None when there is no such job.
    ``bucket_of`` names the job bucket, asked only when there is no Standard execution."""
    try:
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return JobView(STATUS.get(description["status"], "failed"), description)
    except sfn.exceptions.ExecutionDoesNotExist:
        bucket = bucket_of()
    report = _fetch(s3, bucket, f"results/{job_uuid}/job-report.json")
    if report is not None:
        return JobView("completed" if json.loads(report["Body"].read()).get("status") == "completed" else "failed")
    request = _fetch(s3, bucket, f"work/{job_uuid}/request.json")
    if request is None:
        return None
    age = (datetime.now(UTC) - request["LastModified"]).total_seconds()
    if age <= EXPRESS_SECONDS + EXPRESS_MARGIN:
        return JobView("running")
    detail = "its synchronous execution ended without a report: see the Express workflow's log group"
    return JobView("failed", detail=detail)


def sync_client(wait: int) -> Any:
    """A Step Functions client that gives up reading after ``wait`` seconds and never retries
    (a retried StartSyncExecution would run the job twice)."""
    import boto3
    from botocore.config import Config

    config = Config(read_timeout=max(wait, 1), connect_timeout=2, retries={"total_max_attempts": 1})
    return boto3.client("stepfunctions", config=config)


def run_synchronously(express_arn: str, job_uuid: str, execution_input: dict[str, Any], wait: int) -> dict[str, Any]:
    """Run the job through the Express workflow, waiting at most ``wait`` seconds: its
    answer (``status`` completed, failed or running, and the summary's fields), or
    ``{"status": "running"}`` when it has not ended in time (it goes on: an Express execution
    does not stop when its caller stops waiting)."""
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    client = sync_client(wait)
    try:
        answer = client.start_sync_execution(
            stateMachineArn=express_arn, name=job_uuid, input=json.dumps(execution_input)
        )
    except (ReadTimeoutError, ConnectTimeoutError):
        return {"status": "running", "waited": False}
    if answer["status"] == "SUCCEEDED":
        output: dict[str, Any] = json.loads(answer.get("output") or "{}")
        return {**output, "status": output.get("status", "completed"), "waited": output.get("status") != "running"}
    return {"status": "failed", "error": answer.get("error"), "cause": answer.get("cause"), "waited": True}
