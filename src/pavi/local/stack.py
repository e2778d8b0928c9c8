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
machine and no AWS credentials are needed: the template's roles are created in moto's IAM,
and every call is made, and allowed or denied, as its role (:mod:`pavi.local.iam`).
``pavi run`` (:mod:`pavi.local.runner`), ``pavi serve`` (:mod:`pavi.local.serve`) and the
stack tests use it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pavi.aws.job_requests import canonical_request, operator_lane, start_input
from pavi.aws.job_store import JobPaths
from pavi.aws.joblog import execution_history
from pavi.domain.url_policy import GUARD_ENV
from pavi.local import interpreter
from pavi.local.account import Account, DeployError, deploy_problems
from pavi.local.batch_host import BatchHost, camel_case_submit
from pavi.local.cloudformation import (
    LOCAL_BUCKET,
    Resolver,
    deployed_functions,
    deployed_job_definitions,
    role_name_of,
    translate,
)
from pavi.local.express import HandOffHook, MachineCaller, camel_case_start, installed
from pavi.local.genome_folders import GenomeFolders
from pavi.local.iam import enforce, provision, role_principals
from pavi.local.interpreter import INTERPRETER_LOG, interpreter_log, quicker_moto_server, speed_up_sync_polling
from pavi.local.lambda_host import Faults, LambdaHost, served_by_moto
from pavi.local.parameters import check_overrides
from pavi.local.policies import Principal
from pavi.local.template import (
    EXPRESS_MACHINE_RESOURCE,
    REGION,
    STATE_MACHINE_RESOURCE,
    FunctionSpec,
    JobDefinitionSpec,
    StackModel,
    functions_on_the_way_to_success,
)

__all__ = ["INTERPRETER_LOG", "LOCAL_BUCKET", "DeployError", "EmulatedStack"]
OPERATOR = "pavi-local-operator"  # the local user this process acts as: an administrator
_UNSET = object()
_ACTIVE: list[EmulatedStack] = []  # the one stack running in this process
_ACTIVE_LOCK = threading.Lock()
SYNC_POLL_SECONDS = 0.05


class EmulatedStack:
    """moto's server, the account's roles, the job bucket, the state machine, and the hosts."""

    def __init__(
        self,
        root: Path | None = None,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        in_process_batch: bool = False,
        function_timeouts: dict[str, int] | None = None,
        containers: bool | None = None,
        account: Account | None = None,
        parameters: dict[str, str] | None = None,
    ):
        """``env``: settings given to every function and job on top of the template's, as a
        deployment's parameters would (``PAVI_*`` variables of this process are too).
        ``containers``: run Batch jobs in their containers (default: unless
        ``PAVI_LOCAL_CONTAINERS=0``). ``in_process_batch`` (or ``PAVI_LOCAL_BATCH=in-process``):
        Batch jobs as calls in this process. ``account``: the account's settings (a new account).
        ``parameters``: the template's parameters, as ``sam deploy --parameter-overrides`` gives
        them (checked as CloudFormation checks them: :mod:`pavi.local.parameters`)."""
        # PAVI_LOCAL_BATCH=in-process: Batch jobs as calls in this process (load tests of the API)
        self.in_process_batch = in_process_batch or os.environ.get("PAVI_LOCAL_BATCH") == "in-process"
        self.function_timeouts = function_timeouts or {}
        self.containers = containers if containers is not None else os.environ.get("PAVI_LOCAL_CONTAINERS") != "0"
        self.account = account or Account()
        self.model = StackModel.load(root)
        self.extra_env = env or {}
        self.log_dir = log_dir
        self.faults = Faults()
        self._saved_env: dict[str, str | None] = {}
        self._server: Any = None
        self._session: Any = None
        self._scratch: Path | None = None
        self._saved_session: Any = _UNSET
        self._closing = ExitStack()
        self.lambdas: LambdaHost
        self.batch: BatchHost
        self.principals: dict[str, Principal] = {}
        self.state_machine_arn = ""
        self.express_state_machine_arn = ""
        self.endpoint = ""
        # what CloudFormation would make of the template (SAM's translation), checked against the account
        check_overrides(self.model.template, parameters or {})
        self.resolver = Resolver(translate(self.model.template, self.model.root), parameters)
        problems = deploy_problems(self.resolver, self.account)
        if problems:
            raise DeployError(problems)
        self.functions = deployed_functions(self.resolver, self.model.functions())
        self.job_definitions = deployed_job_definitions(self.resolver, self.model.job_definitions(), self.model.root)

    # -- the environments of the functions and jobs
    def overrides(self, defined: Mapping[str, str] | None = None) -> dict[str, str]:
        """Local settings for every function and job: this process's ``PAVI_*``, but never over a
        variable the template gives it (``defined``: from its parameters, as deployed), then ``env``
        (the constructor's, for tests). The URL guard is the local one unless ``PAVI_URL_GUARD=aws``:
        genomes here are this machine's files and loopback servers (``docs/decisions.md`` §3)."""
        skip = {"PAVI_BUCKET", GUARD_ENV, *(defined or {})}
        mine = {k: v for k, v in os.environ.items() if k.startswith("PAVI_") and k not in skip}
        return {GUARD_ENV: os.environ.get(GUARD_ENV) or "local", **mine, **self.extra_env}

    def _endpoint_env(self) -> dict[str, str]:
        """One endpoint for every service. StartSyncExecution's host prefix (``sync-``) is not
        put before it: ``sync-127.0.0.1`` is no host."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        }

    def function_env(self, spec: FunctionSpec) -> dict[str, str]:
        """What the Lambda runtime gives the function: its variables, its role's credentials."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            **spec.environment,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "PAVI_LOCAL_FUNCTION_ARN": spec.arn,
            **self.principals[spec.role].env(),
            **self._endpoint_env(),
            **self.overrides(spec.environment),
        }

    def job_env(self, spec: JobDefinitionSpec) -> dict[str, str]:
        """What ECS gives the job's container besides the image's: its variables, the job role's credentials."""
        role = self.principals[spec.role].env() if spec.role else {}
        return {
            **spec.environment,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
            **role,
            **self._endpoint_env(),
            **self.overrides(spec.environment),
        }

    # -- lifecycle
    def __enter__(self) -> EmulatedStack:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> EmulatedStack:
        import boto3
        from moto.server import ThreadedMotoServer

        from pavi.domain.sources import reset_clients

        with _ACTIVE_LOCK:  # moto's backends, the hooks and the IAM settings are the process's
            if _ACTIVE:
                raise RuntimeError("another EmulatedStack is running in this process: one at a time")
            _ACTIVE.append(self)

        if self.log_dir is None:
            import tempfile

            self._scratch = Path(tempfile.mkdtemp(prefix="pavi-local-"))
            self.log_dir = self._scratch
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.chmod(0o755)  # the jobs' volumes are made here; their users must reach them
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
        quicker_moto_server()
        interpreter.atomic_conditional_writes()
        self._closing.enter_context(interpreter_log(self.log_dir / INTERPRETER_LOG))
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = endpoint = f"http://{host}:{port}"
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": "setup",
                "AWS_SECRET_ACCESS_KEY": "setup",
                "AWS_SESSION_TOKEN": None,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                **self._endpoint_env(),
                "MOTO_PORT": str(port),
                "PAVI_BUCKET": LOCAL_BUCKET,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                **self.extra_env,
            }
        )
        reset_clients()
        speed_up_sync_polling(SYNC_POLL_SECONDS)
        import urllib.request

        def moto_api(path: str, body: bytes) -> None:
            request = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=body, method="POST")
            urllib.request.urlopen(request, timeout=10).close()

        moto_api("reset", b"")  # moto's backends live in this process: start from an empty account
        moto_api("config", json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
        # the account: the template's roles (assumed: each has its credentials) and the operator
        self.principals = role_principals(self.resolver)
        setup = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name=REGION)
        operator = provision(setup.client("iam"), setup.client("sts"), self.principals, OPERATOR)
        self.principals[OPERATOR] = operator
        # this process (pavi run, the tests, moto's interpreter) is the operator, in a new default session
        self._set_env(operator.env())
        self._saved_session = boto3.DEFAULT_SESSION
        boto3.setup_default_session()
        reset_clients()
        boto3.client("s3").create_bucket(Bucket=LOCAL_BUCKET)
        self._closing.enter_context(installed())  # Express's rules and StartSyncExecution (pavi.local.express)
        sfn = boto3.client("stepfunctions")
        self.state_machine_arn, machine_role = self._create_machine(sfn, STATE_MACHINE_RESOURCE, "STANDARD", {})
        definition = self.model.definition()
        if EXPRESS_MACHINE_RESOURCE in self.resolver.resources:
            standard = {STATE_MACHINE_RESOURCE: self.state_machine_arn}
            self.express_state_machine_arn, _ = self._create_machine(sfn, EXPRESS_MACHINE_RESOURCE, "EXPRESS", standard)
        caller = MachineCaller(self.principals, machine_role)
        self._closing.enter_context(enforce(self.principals, self.faults))
        # the hosts: their callers are the state machine's role
        self.lambdas = LambdaHost(
            self.functions, self.function_env, self.log_dir, caller, self.function_timeouts, self.faults
        )
        self.lambdas.prewarm(functions_on_the_way_to_success(json.loads(definition), self.functions))
        self._closing.callback(self.lambdas.close)
        self._closing.enter_context(served_by_moto(self.lambdas, boto3.client("lambda"), self.principals))
        self.batch = BatchHost(
            self.job_definitions, self.job_env, self.log_dir, caller, self.in_process_batch, self.containers
        )
        keys = operator.credentials
        forward = boto3.session.Session(keys["AccessKeyId"], keys["SecretAccessKey"], region_name=REGION)
        self._session = boto3._get_default_session()  # the session moto's interpreter makes its clients from
        events = self._session.events
        events.register("before-call.lambda.Invoke", self.lambdas.invoke_hook, unique_id="pavi-local-lambda")
        events.register("before-parameter-build.batch.SubmitJob", camel_case_submit, unique_id="pavi-local-case")
        events.register("before-call.batch.SubmitJob", self.batch.submit_hook, unique_id="pavi-local-submit")
        events.register("before-call.batch.DescribeJobs", self.batch.describe_hook, unique_id="pavi-local-describe")
        hand_off = HandOffHook(caller, forward.client("stepfunctions"))  # the Express workflow's
        events.register("before-parameter-build.sfn.StartExecution", camel_case_start, unique_id="pavi-local-sfn-case")
        events.register("before-call.sfn.StartExecution", hand_off, unique_id="pavi-local-sfn")
        self.sfn = sfn
        self.s3 = boto3.client("s3")
        self.batch.local_inputs = GenomeFolders(self.s3).of_job
        return self

    def _create_machine(self, sfn: Any, resource: str, kind: str, machines: dict[str, str]) -> tuple[str, Principal]:
        """Create one of the template's state machines as its role: (its ARN, the role)."""
        machine = self.resolver.resolve(self.resolver.resources[resource]["Properties"])
        role = self.principals[role_name_of(str(machine["RoleArn"]))]
        arn = sfn.create_state_machine(
            name=str(machine.get("StateMachineName", resource)),
            definition=self.model.definition(resource, machines),
            roleArn=role.arn,
            type=kind,
        )["stateMachineArn"]
        return str(arn), role

    @property
    def invocations(self) -> list[tuple[str, float, float]]:
        """Each function invocation so far: (function, started, ended), epoch seconds."""
        return self.lambdas.invocations

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def invoke(self, function: str, event: Any) -> Any:
        """Call a function as a client with its own permissions would (the API through API Gateway)."""
        return self.lambdas.call(function, event)

    def __exit__(self, *exc: object) -> None:
        from pavi.domain.sources import reset_clients

        self._closing.close()
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        if self._session is not None:
            events = self._session.events
            events.unregister("before-call.lambda.Invoke", unique_id="pavi-local-lambda")
            events.unregister("before-parameter-build.batch.SubmitJob", unique_id="pavi-local-case")
            events.unregister("before-call.batch.SubmitJob", unique_id="pavi-local-submit")
            events.unregister("before-call.batch.DescribeJobs", unique_id="pavi-local-describe")
            events.unregister("before-parameter-build.sfn.StartExecution", unique_id="pavi-local-sfn-case")
            events.unregister("before-call.sfn.StartExecution", unique_id="pavi-local-sfn")
        if self._server is not None:
            self._server.stop()
        if self._saved_session is not _UNSET:
            import boto3

            boto3.DEFAULT_SESSION = self._saved_session
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
        """Start a job as the API does: its request claims the job ID in the job store first, and the
        execution gets it by reference (with an operator's ``lane``, when the payload names one)."""
        job_id = job_id or str(uuid.uuid4())
        paths = JobPaths(f"s3://{LOCAL_BUCKET}", job_id)
        start = start_input(paths, canonical_request(payload), operator_lane(payload))
        started = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=job_id, input=json.dumps(start))
        return job_id, str(started["executionArn"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return execution_history(self.sfn, execution_arn)

    def events(
        self, execution_arn: str, poll: float = 0.2, between: Callable[[], None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The execution's history events as they happen, until it ends; ``between`` is called
        after each poll (for progress that is not in the history)."""
        seen = 0
        while True:
            status = self.sfn.describe_execution(executionArn=execution_arn)["status"]
            events = self.history(execution_arn)
            if between is not None:
                between()
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
