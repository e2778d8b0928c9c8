"""The deployed application on one machine: moto's server, the job bucket, the unmodified
state machine, and the Lambda and Batch hosts wired to it.

:class:`EmulatedStack` starts moto's server on a loopback port with its Step Functions
interpreter switched on, creates the job bucket, and creates the state machine from
``statemachine/pipeline.asl.json`` with the substitutions of ``template.yaml``
(:mod:`pavi.local.template`). While it runs, botocore ``before-call`` hooks on the session
moto's interpreter makes its clients from route ``lambda.Invoke`` to the
:class:`~pavi.local.lambda_host.LambdaHost` and ``batch.SubmitJob``/``DescribeJobs`` to the
:class:`~pavi.local.batch_host.BatchHost`. Storage is the S3 API of the same moto server;
the Batch jobs' processes reach it through ``AWS_ENDPOINT_URL_S3``. Nothing leaves the
machine and no credentials are needed. ``pavi run`` (:mod:`pavi.local.runner`),
``pavi serve`` (:mod:`pavi.local.serve`) and the stack tests use it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pavi.aws.job_store import JobPaths
from pavi.aws.joblog import execution_history
from pavi.aws.steps import execution_input
from pavi.local.batch_host import BatchHost, camel_case_submit
from pavi.local.lambda_host import LambdaHost
from pavi.local.template import ACCOUNT, REGION, StackModel

LOCAL_BUCKET = "pavi-local"
SYNC_POLL_SECONDS = 0.05


class EmulatedStack:
    """moto's server, the job bucket, the state machine, and the hooks, for one process."""

    def __init__(
        self,
        root: Path | None = None,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        in_process_batch: bool = False,
        function_timeouts: dict[str, int] | None = None,
    ):
        self.in_process_batch = in_process_batch
        self.model = StackModel.load(root)
        self.functions = self.model.functions()
        self.lambdas = LambdaHost(self.functions, function_timeouts)
        self.faults = self.lambdas.faults
        self.invocations = self.lambdas.invocations  # (function, started, ended): epoch seconds
        self.extra_env = env or {}
        self.log_dir = log_dir
        self._saved_env: dict[str, str | None] = {}
        self._server: Any = None
        self._session: Any = None
        self._scratch: Path | None = None
        self.batch: BatchHost
        self.state_machine_arn = ""

    # -- lifecycle
    def __enter__(self) -> EmulatedStack:
        import boto3
        from moto.server import ThreadedMotoServer

        from pavi.domain.sources import reset_clients

        if self.log_dir is None:
            import tempfile

            self._scratch = Path(tempfile.mkdtemp(prefix="pavi-local-"))
            self.log_dir = self._scratch
        self.log_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_S3": endpoint,
            "MOTO_PORT": str(port),
            "PAVI_BUCKET": LOCAL_BUCKET,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            **self.extra_env,
        }
        for spec in self.functions.values():  # the functions' plain settings, the runner's own first
            for key, value in spec.environment.items():
                env.setdefault(key, value)
        for key, value in env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        reset_clients()
        self.endpoint = endpoint
        self._speed_up_sync_polling()
        import urllib.request

        def moto_api(path: str, body: bytes) -> None:
            request = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=body, method="POST")
            urllib.request.urlopen(request, timeout=10).close()

        moto_api("reset", b"")  # moto's backends live in this process: start from an empty account
        moto_api("config", json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
        child_env = {k: v for k, v in os.environ.items()}
        self.batch = BatchHost(self.model.job_definitions(), child_env, self.log_dir, self.in_process_batch)
        self._session = boto3._get_default_session()  # the session moto's interpreter makes its clients from
        events = self._session.events
        events.register("before-call.lambda.Invoke", self.lambdas.invoke_hook, unique_id="pavi-local-lambda")
        events.register("before-parameter-build.batch.SubmitJob", camel_case_submit, unique_id="pavi-local-case")
        events.register("before-call.batch.SubmitJob", self.batch.submit_hook, unique_id="pavi-local-submit")
        events.register("before-call.batch.DescribeJobs", self.batch.describe_hook, unique_id="pavi-local-describe")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=LOCAL_BUCKET)
        sfn = boto3.client("stepfunctions", endpoint_url=endpoint)
        self.state_machine_arn = sfn.create_state_machine(
            name="pavi-pipeline",
            definition=self.model.definition(),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/pavi-local",
            type="STANDARD",
        )["stateMachineArn"]
        self.sfn = sfn
        self.s3 = boto3.client("s3", endpoint_url=endpoint)
        return self

    @staticmethod
    def _speed_up_sync_polling() -> None:
        """moto polls a ``.sync`` Batch job every 0.5 s; local jobs take well under a second, so
        a job would spend most of its time waiting for the poll. Poll every 50 ms here."""
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as callback,
        )

        if hasattr(callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK"):
            callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = SYNC_POLL_SECONDS  # type: ignore[misc]

    def __exit__(self, *exc: object) -> None:
        from pavi.domain.sources import reset_clients

        if self._session is not None:
            events = self._session.events
            events.unregister("before-call.lambda.Invoke", unique_id="pavi-local-lambda")
            events.unregister("before-parameter-build.batch.SubmitJob", unique_id="pavi-local-case")
            events.unregister("before-call.batch.SubmitJob", unique_id="pavi-local-submit")
            events.unregister("before-call.batch.DescribeJobs", unique_id="pavi-local-describe")
        if self._server is not None:
            self._server.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_clients()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    # -- executions
    def start(self, payload: Any, job_id: str | None = None) -> tuple[str, str]:
        """Start a job as the API does: a large request goes to the job store first."""
        job_id = job_id or str(uuid.uuid4())
        start = execution_input(payload, JobPaths(f"s3://{LOCAL_BUCKET}", job_id))
        arn = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=job_id, input=json.dumps(start))[
            "executionArn"
        ]
        return job_id, arn

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return execution_history(self.sfn, execution_arn)

    def events(self, execution_arn: str, poll: float = 0.2) -> Iterator[dict[str, Any]]:
        """The execution's history events as they happen, until it ends."""
        seen = 0
        while True:
            status = self.sfn.describe_execution(executionArn=execution_arn)["status"]
            events = self.history(execution_arn)
            yield from events[seen:]
            seen = len(events)
            if status != "RUNNING":
                return
            time.sleep(poll)

    def wait(self, execution_arn: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            description: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            time.sleep(0.1)
        raise TimeoutError(f"{execution_arn} still running after {timeout}s")

    def work_intervals(self) -> list[tuple[float, float]]:
        """When a step was doing its own work (a handler running, a Batch job's process), epoch seconds."""
        intervals = [(started, ended) for _, started, ended in self.invocations]
        for job in list(self.batch.jobs.values()):
            for attempt in job.attempts:
                if "startedAt" in attempt:
                    intervals.append((attempt["startedAt"] / 1000, attempt["stoppedAt"] / 1000))
        return intervals

    def read(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=LOCAL_BUCKET, Key=key)["Body"].read()
        return data

    def keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=LOCAL_BUCKET, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return sorted(keys)
