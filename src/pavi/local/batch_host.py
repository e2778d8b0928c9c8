"""AWS Batch for one machine: each job a local process of the image's entrypoint.

:class:`BatchHost` answers ``batch.SubmitJob`` and ``batch.DescribeJobs`` (botocore
``before-call`` hooks): a submitted job runs the images' ENTRYPOINT (``pavi``, the
installed console script) with the job definition's ``Command``, its ``Ref::``
parameters filled in, its retry strategy (attempts, ``EvaluateOnExit``) and its attempt
time-out, inside the container its image and job definition describe
(:mod:`pavi.local.container`: the image's user, a read-only root, only its volumes
writable, only its environment and the job role's credentials). The caller (the state
machine's role) must be allowed ``batch:SubmitJob`` on the job definition and the queue.
It never imports the CLI: it runs what is installed, as the image does.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pavi.aws.lanes import ARRAY_INDEX_ENV, MAX_ARRAY_SIZE, MIN_ARRAY_SIZE
from pavi.local.container import (
    DEFAULT_PATH,
    OOM_REASON,
    OUT_OF_MEMORY,
    TIMED_OUT,
    Image,
    Sandbox,
    check_available,
    memory_of,
    sandbox,
    watch,
)
from pavi.local.express import MachineCaller
from pavi.local.policies import ALLOW, Principal, denial_message
from pavi.local.responses import HttpAnswer, answer, client_error
from pavi.local.template import ACCOUNT, QUEUE_ARN, REGION, JobDefinitionSpec

logger = logging.getLogger(__name__)

KILLED_REASON = "Host EC2 (instance i-local) terminated."
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
ARRAY_CHILDREN_AT_ONCE = 4  # an array's children running at once on this machine
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
    array_index: int | None = None  # a child of an array job
    children: list[BatchJob] = field(default_factory=list)  # an array job's children
    memory: int | None = None  # MiB its container may use

    def describe(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else {}
        array: dict[str, Any] = {}
        if self.children:
            summary: dict[str, int] = {}
            for child in self.children:
                summary[child.status] = summary.get(child.status, 0) + 1
            array = {"arrayProperties": {"size": len(self.children), "statusSummary": summary}}
        elif self.array_index is not None:
            array = {"arrayProperties": {"index": self.array_index}}
        return {
            **array,
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
    """AWS Batch for one machine: each job a process of the image's entrypoint, in its container."""

    def __init__(
        self,
        definitions: dict[str, JobDefinitionSpec],
        environment: Callable[[JobDefinitionSpec], dict[str, str]],
        log_dir: Path,
        caller: Principal | MachineCaller | None = None,
        in_process: bool = False,
        containers: bool = True,
    ):
        self.in_process = in_process  # run the entrypoint's main() in a thread: for scale tests only
        self.containers = containers  # each job in its container (bubblewrap): see pavi.local.container
        if containers and not in_process:
            check_available()
        self.by_arn = {spec.arn: spec for spec in definitions.values()}
        self.environment = environment
        self.caller = caller  # who submits: the state machine's role
        self.log_dir = log_dir
        self.jobs: dict[str, BatchJob] = {}
        self.lock = threading.Lock()
        self.entrypoint = entrypoint_command()
        self.images: dict[Path, Image] = {}
        # test hooks: called with (job, attempt number, process) once the process started;
        # job definitions whose jobs never start (no capacity, an image that cannot be pulled)
        self.on_start: Callable[[BatchJob, int, subprocess.Popen[bytes]], None] | None = None
        self.never_start: set[str] = set()
        # host folders a job may read besides the image (the stack: the local genome an entry names)
        self.local_inputs: Callable[[BatchJob], list[Path]] | None = None

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        definition = self.by_arn.get(request.get("jobDefinition", ""))
        if definition is None:
            raise KeyError(f"unknown job definition {request.get('jobDefinition')!r}")
        parameters = {**definition.defaults, **(request.get("parameters") or {})}
        command = [parameters.get(part[5:], part) if part.startswith("Ref::") else part for part in definition.command]
        job = BatchJob(str(uuid.uuid4()), request.get("jobName", definition.logical_id), definition, command)
        # the container's memory: the submission's override (containerOverrides), else the definition's
        job.memory = (
            memory_of((request.get("containerOverrides") or {}).get("resourceRequirements")) or definition.memory
        )
        size = (request.get("arrayProperties") or {}).get("size")
        if size is not None:
            if not isinstance(size, int) or not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
                raise ValueError(f"Array job size must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE}, got {size!r}")
            job.children = [
                BatchJob(f"{job.job_id}:{index}", job.name, definition, command, array_index=index)
                for index in range(size)
            ]
        with self.lock:
            self.jobs[job.job_id] = job
            self.jobs.update({child.job_id: child for child in job.children})
        if definition.logical_id in self.never_start:
            job.status = "RUNNABLE" if not job.children else "PENDING"
            for child in job.children:
                child.status = "RUNNABLE"
        else:
            run = self._run_array if job.children else self._run
            threading.Thread(target=run, args=(job,), name=f"batch-{job.name}", daemon=True).start()
        return {
            "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job.job_id}",
            "jobName": job.name,
            "jobId": job.job_id,
        }

    def _run_array(self, parent: BatchJob) -> None:
        """An array job: its children run, ``ARRAY_CHILDREN_AT_ONCE`` at a time (as a compute
        environment's vCPUs bound them), each with its retry strategy and attempt time-out; the
        parent (which has no time-out of its own) fails when any child failed, once all ended."""
        parent.status = "PENDING"
        with ThreadPoolExecutor(ARRAY_CHILDREN_AT_ONCE, thread_name_prefix=f"batch-{parent.name}") as pool:
            list(pool.map(self._run, parent.children))
        failed = sum(child.status != "SUCCEEDED" for child in parent.children)
        if failed:
            parent.status_reason = f"{failed} of {len(parent.children)} array child jobs failed"
            parent.status = "FAILED"
        else:
            parent.status = "SUCCEEDED"

    def children_of(self, name: str) -> list[BatchJob]:
        """The children of the array job of that name (none when there is no such job yet)."""
        with self.lock:
            parents = [job for job in self.jobs.values() if job.name == name and job.children]
        return list(parents[-1].children) if parents else []

    def describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [self.jobs[j].describe() for j in job_ids if j in self.jobs]

    def forget(self, pipeline_job_id: str) -> None:
        """Drop the ended Batch jobs of one pipeline job (their names hold its ID)."""
        with self.lock:
            for job_id in [j for j, job in self.jobs.items() if pipeline_job_id in job.name]:
                if self.jobs[job_id].status in {"SUCCEEDED", "FAILED"}:
                    del self.jobs[job_id]

    def image(self, spec: JobDefinitionSpec) -> Image:
        if spec.dockerfile is None:
            return Image()
        if spec.dockerfile not in self.images:
            self.images[spec.dockerfile] = Image.from_dockerfile(spec.dockerfile)
        return self.images[spec.dockerfile]

    def _start(self, job: BatchJob, attempt: int, log: Any) -> tuple[subprocess.Popen[bytes], Sandbox | None]:
        spec = job.definition
        image = self.image(spec)
        env = {
            "PATH": DEFAULT_PATH,
            "HOME": image.workdir if image.user[0] else "/root",
            **image.env,
            **self.environment(spec),
            "AWS_BATCH_JOB_ID": job.job_id,
            "AWS_BATCH_JOB_ATTEMPT": str(attempt),
            "AWS_BATCH_JQ_NAME": QUEUE_ARN.rsplit("/", 1)[1],
            "AWS_BATCH_CE_NAME": "pavi-local",
            **({ARRAY_INDEX_ENV: str(job.array_index)} if job.array_index is not None else {}),
        }
        argv = [*self.entrypoint, *job.command]
        if not self.containers:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            return process, None
        readable = tuple(self.local_inputs(job)) if self.local_inputs else ()
        box = sandbox(argv, image, spec.readonly_root, spec.mounts, env, self.log_dir, readable)
        return box.start(log), box

    def _run(self, job: BatchJob) -> None:
        if self.in_process:
            job.status = "RUNNING"
            started = time.time()
            # the environment is the process's: an in-process child is told its index instead
            index = ["--index", str(job.array_index)] if job.array_index is not None else []
            exit_code = installed_entrypoint()([*job.command, *index])
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
        for attempt in range(1, spec.attempts + 1):
            job.status = "RUNNING"
            started = time.time()
            child = f"-{job.array_index}" if job.array_index is not None else ""  # as each child has its log stream
            log_path = self.log_dir / f"{job.name}{child}.attempt{attempt}.log"
            with log_path.open("wb") as log:
                process, box = self._start(job, attempt, log)
                job.process = process
                if self.on_start:
                    self.on_start(job, attempt, process)
                status_reason = container_reason = ""
                code: int | None = watch(process, spec.attempt_timeout, job.memory)
                if code == TIMED_OUT:
                    code, status_reason = None, TIMEOUT_REASON
                elif code == OUT_OF_MEMORY:  # as ECS reports it: the container's reason, exit 137
                    code, container_reason = 137, OOM_REASON
                if box is not None:
                    box.close()
            if code is not None and code < 0:  # killed by a signal: as if its host went away
                code, status_reason = None, KILLED_REASON
            job.attempts.append(
                {
                    "startedAt": int(started * 1000),
                    "stoppedAt": int(time.time() * 1000),
                    "statusReason": status_reason or ("Essential container in task exited" if code else ""),
                    "container": {
                        "exitCode": code,
                        "logStreamName": str(log_path),
                        **({"reason": container_reason} if container_reason else {}),
                    },
                }
            )
            if code == 0:
                job.status, job.status_reason = "SUCCEEDED", "Essential container in task exited"
                return
            job.status_reason = status_reason or "Essential container in task exited"
            action = retry_action(spec.evaluate_on_exit, code, job.status_reason, container_reason)
            logger.info(
                "batch job %s attempt %d failed (exit %s, %s): %s", job.name, attempt, code, status_reason, action
            )
            if action == "EXIT":
                break
        job.status = "FAILED"

    # -- botocore hooks
    def submit_hook(self, params: dict[str, Any], **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        request = json.loads(params.get("body") or b"{}")
        if self.caller is not None:  # SubmitJob is authorized on the job definition and the queue
            for resource in (str(request.get("jobDefinition", "")), str(request.get("jobQueue", ""))):
                decision = self.caller.allows("batch:SubmitJob", resource)
                if decision != ALLOW:
                    message = denial_message(self.caller.caller, "batch:SubmitJob", resource, decision)
                    return client_error(403, "AccessDeniedException", message)
        try:
            submitted = self.submit(request)
        except (KeyError, ValueError) as error:
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
    "ResourceRequirements": "resourceRequirements",  # the alignment task sized to the job (issue 29)
    "Type": "type",
    "Environment": "environment",
    "Command": "command",
    "Name": "name",
    "Value": "value",
    "Timeout": "timeout",
    "AttemptDurationSeconds": "attemptDurationSeconds",
    "RetryStrategy": "retryStrategy",
    "Attempts": "attempts",
    "Tags": "tags",
    "ArrayProperties": "arrayProperties",
    "Size": "size",
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
