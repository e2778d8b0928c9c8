"""AWS Batch for one machine: each job a local process of the image's entrypoint.

:class:`BatchHost` answers ``batch.SubmitJob`` and ``batch.DescribeJobs`` (botocore
``before-call`` hooks): a submitted job runs the images' ENTRYPOINT (``pavi``, the
installed console script) with the job definition's ``Command``, its ``Ref::``
parameters filled in, the job definition's environment, its retry strategy (attempts,
``EvaluateOnExit``) and its attempt time-out. It never imports the CLI: it runs what is
installed, as the image does.

moto's Batch ``.sync`` integration does not convert parameter and response casing as Step
Functions does (``docs/decisions.md``): :func:`camel_case_submit` converts the request,
and the state machine discards Batch results (``ResultPath: null``), so the response
casing never matters.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pavi.local.responses import HttpAnswer, answer, client_error
from pavi.local.template import ACCOUNT, QUEUE_ARN, REGION, JobDefinitionSpec

logger = logging.getLogger(__name__)

KILLED_REASON = "Host EC2 (instance i-local) terminated."
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
ENTRYPOINT = "pavi"  # the images' ENTRYPOINT: the console script of the installed package


def entrypoint_command() -> list[str]:
    """The images' ENTRYPOINT (``pavi``): the console script beside this interpreter, or on PATH."""
    script = Path(sys.executable).with_name(ENTRYPOINT)
    if script.is_file():
        return [str(script)]
    found = shutil.which(ENTRYPOINT)
    if found is None:
        raise FileNotFoundError(f"the {ENTRYPOINT!r} entrypoint is not installed (pip install -e .)")
    return [found]


def installed_entrypoint() -> Callable[[list[str]], int]:
    """The function the ``pavi`` console script calls, found through the installed package's
    metadata (for in-process jobs: scale tests only)."""
    (script,) = entry_points(group="console_scripts", name=ENTRYPOINT)
    function: Callable[[list[str]], int] = script.load()
    return function


@dataclass
class BatchJob:
    job_id: str
    name: str
    definition: JobDefinitionSpec
    command: list[str]
    status: str = "SUBMITTED"
    status_reason: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    process: subprocess.Popen[bytes] | None = None

    def describe(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else {}
        return {
            "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{self.job_id}",
            "jobId": self.job_id,
            "jobName": self.name,
            "jobQueue": QUEUE_ARN,
            "jobDefinition": self.definition.arn,
            "status": self.status,
            "statusReason": self.status_reason,
            "attempts": self.attempts,
            "createdAt": int(self.created_at * 1000),
            "container": {"command": self.command, "exitCode": last.get("container", {}).get("exitCode")},
        }


def retry_action(rules: list[dict[str, str]], exit_code: int | None, status_reason: str, reason: str) -> str:
    """AWS Batch's ``EvaluateOnExit``: the first matching rule's action; RETRY when none matches."""
    for rule in rules:
        checks = []
        if "OnExitCode" in rule:
            checks.append(exit_code is not None and fnmatchcase(str(exit_code), rule["OnExitCode"]))
        if "OnStatusReason" in rule:
            checks.append(fnmatchcase(status_reason, rule["OnStatusReason"]))
        if "OnReason" in rule:
            checks.append(fnmatchcase(reason, rule["OnReason"]))
        if checks and all(checks):
            return rule["Action"].upper()
    return "RETRY"


class BatchHost:
    """AWS Batch for one machine: each job a local process of the image's entrypoint."""

    def __init__(
        self, definitions: dict[str, JobDefinitionSpec], env: dict[str, str], log_dir: Path, in_process: bool = False
    ):
        self.in_process = in_process  # run the entrypoint's main() in a thread: for scale tests only
        self.by_arn = {spec.arn: spec for spec in definitions.values()}
        self.env = env
        self.log_dir = log_dir
        self.jobs: dict[str, BatchJob] = {}
        self.lock = threading.Lock()
        self.entrypoint = entrypoint_command()
        # test hook: called with (job, attempt number, process) once the process started
        self.on_start: Callable[[BatchJob, int, subprocess.Popen[bytes]], None] | None = None

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        definition = self.by_arn.get(request.get("jobDefinition", ""))
        if definition is None:
            raise KeyError(f"unknown job definition {request.get('jobDefinition')!r}")
        parameters = {**definition.defaults, **(request.get("parameters") or {})}
        command = [parameters.get(part[5:], part) if part.startswith("Ref::") else part for part in definition.command]
        job = BatchJob(str(uuid.uuid4()), request.get("jobName", definition.logical_id), definition, command)
        with self.lock:
            self.jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job,), name=f"batch-{job.name}", daemon=True).start()
        return {
            "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job.job_id}",
            "jobName": job.name,
            "jobId": job.job_id,
        }

    def describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [self.jobs[j].describe() for j in job_ids if j in self.jobs]

    def _run(self, job: BatchJob) -> None:
        if self.in_process:
            job.status = "RUNNING"
            started = time.time()
            exit_code = installed_entrypoint()(job.command)
            job.attempts.append(
                {
                    "startedAt": int(started * 1000),
                    "stoppedAt": int(time.time() * 1000),
                    "container": {"exitCode": exit_code},
                }
            )
            job.status = "SUCCEEDED" if exit_code == 0 else "FAILED"
            job.status_reason = "Essential container in task exited"
            return
        spec = job.definition
        env = {**self.env, **spec.environment}
        for attempt in range(1, spec.attempts + 1):
            job.status = "RUNNING"
            started = time.time()
            log_path = self.log_dir / f"{job.name}.attempt{attempt}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [*self.entrypoint, *job.command], stdout=log, stderr=subprocess.STDOUT, env=env
                )
                job.process = process
                if self.on_start:
                    self.on_start(job, attempt, process)
                status_reason = ""
                try:
                    code: int | None = process.wait(timeout=spec.attempt_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    code, status_reason = None, TIMEOUT_REASON
            if code is not None and code < 0:  # killed by a signal: as if its host went away
                code, status_reason = None, KILLED_REASON
            job.attempts.append(
                {
                    "startedAt": int(started * 1000),
                    "stoppedAt": int(time.time() * 1000),
                    "statusReason": status_reason or ("Essential container in task exited" if code else ""),
                    "container": {"exitCode": code, "logStreamName": str(log_path)},
                }
            )
            if code == 0:
                job.status, job.status_reason = "SUCCEEDED", "Essential container in task exited"
                return
            job.status_reason = status_reason or "Essential container in task exited"
            action = retry_action(spec.evaluate_on_exit, code, job.status_reason, "")
            logger.info(
                "batch job %s attempt %d failed (exit %s, %s): %s", job.name, attempt, code, status_reason, action
            )
            if action == "EXIT":
                break
        job.status = "FAILED"

    # -- botocore hooks
    def submit_hook(self, params: dict[str, Any], **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        try:
            submitted = self.submit(json.loads(params.get("body") or b"{}"))
        except KeyError as error:
            return client_error(400, "ClientException", str(error))
        # Step Functions reads the submission's JobId in PascalCase (moto's integration too)
        return answer({**submitted, **{k[0].upper() + k[1:]: v for k, v in submitted.items()}})

    def describe_hook(self, params: dict[str, Any], **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        request = json.loads(params.get("body") or b"{}")
        return answer({"jobs": self.describe(request.get("jobs", []))})


_PASCAL_TO_CAMEL = {
    "JobName": "jobName",
    "JobQueue": "jobQueue",
    "JobDefinition": "jobDefinition",
    "Parameters": "parameters",
    "ContainerOverrides": "containerOverrides",
    "Environment": "environment",
    "Command": "command",
    "Name": "name",
    "Value": "value",
    "Timeout": "timeout",
    "AttemptDurationSeconds": "attemptDurationSeconds",
    "RetryStrategy": "retryStrategy",
    "Attempts": "attempts",
    "Tags": "tags",
}


def camel_case_submit(params: dict[str, Any], **_: Any) -> None:
    """What Step Functions does to a ``batch:submitJob`` task's parameters and moto does not:
    PascalCase ASL names to the API's camelCase (``Parameters`` values are left as they are)."""

    def convert(value: Any, inside_parameters: bool = False) -> Any:
        if isinstance(value, dict):
            if inside_parameters:
                return value
            return {_PASCAL_TO_CAMEL.get(k, k): convert(v, k == "Parameters") for k, v in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    converted = convert(dict(params))
    params.clear()
    params.update(converted)
