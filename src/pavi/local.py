"""Run the deployed design on one machine: the unmodified state machine, locally.

:class:`LocalStack` (a stack of this project, not the product of that name) starts moto's
server on a loopback port with its Step Functions interpreter switched on, creates the job
bucket, and creates the state machine from ``statemachine/pipeline.asl.json`` with the
substitutions of ``template.yaml``. While it runs, botocore ``before-call`` hooks route:

- ``lambda.Invoke`` to the real handlers of ``functions/*/app.py`` (loaded from the
  template's ``CodeUri`` and ``Handler``, run in this process with the template's
  environment);
- ``batch.SubmitJob`` / ``batch.DescribeJobs`` to :class:`LocalBatch`, which runs each job
  as a local process of the images' entrypoint (``pavi`` + the job definition's
  ``Command`` with its ``Ref::`` parameters filled in), honouring the job definition's
  retry strategy (attempts, ``EvaluateOnExit``) and attempt timeout.

Storage is the S3 API of the same moto server; the child processes reach it through
``AWS_ENDPOINT_URL_S3``. Nothing leaves the machine and no credentials are needed.

moto's Batch ``.sync`` integration does not convert parameter and response casing as
Step Functions does (see ``docs/decisions.md``); :func:`_camel_case_submit` converts the
request, and the state machine discards Batch results (``ResultPath: null``), so the
response casing never matters.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote

logger = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT = "123456789012"
LOCAL_BUCKET = "pavi-local"
STATE_MACHINE_RESOURCE = "PipelineStateMachine"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/pavi-local"
KILLED_REASON = "Host EC2 (instance i-local) terminated."
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
SYNC_POLL_SECONDS = 0.05


def project_root() -> Path:
    """The checkout holding ``template.yaml`` (``PAVI_PROJECT_ROOT``, else the source tree's)."""
    configured = os.environ.get("PAVI_PROJECT_ROOT")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in candidates:
        if (candidate / "template.yaml").is_file() and (candidate / "statemachine").is_dir():
            return candidate
    raise FileNotFoundError("template.yaml not found: run from the project's checkout or set PAVI_PROJECT_ROOT")


# ------------------------------------------------------------------ the template


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation/SAM YAML template, short intrinsic tags as their long forms."""
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", intrinsic)
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=Loader)
    return loaded


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


@dataclass(frozen=True)
class JobDefinitionSpec:
    logical_id: str
    command: list[str]
    defaults: dict[str, str]
    attempts: int
    evaluate_on_exit: list[dict[str, str]]
    attempt_timeout: int | None
    environment: dict[str, str]

    @property
    def arn(self) -> str:
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{self.logical_id}:1"


def _plain(environment: Any) -> dict[str, str]:
    """The variables whose values are plain strings (intrinsics are the deployment's to fill)."""
    if isinstance(environment, list):  # Batch: [{Name, Value}]
        environment = {item["Name"]: item.get("Value") for item in environment}
    return {k: str(v) for k, v in (environment or {}).items() if isinstance(v, str | int)}


@dataclass
class StackModel:
    """What the local runner needs from ``template.yaml``."""

    root: Path
    template: dict[str, Any]

    @classmethod
    def load(cls, root: Path | None = None) -> StackModel:
        root = root or project_root()
        return cls(root, load_template(root / "template.yaml"))

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def functions(self) -> dict[str, FunctionSpec]:
        defaults = self.template.get("Globals", {}).get("Function", {})
        specs = {}
        for name, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            props = resource["Properties"]
            env = {
                **_plain(defaults.get("Environment", {}).get("Variables")),
                **_plain(props.get("Environment", {}).get("Variables")),
            }
            specs[name] = FunctionSpec(
                name,
                self.root / props["CodeUri"],
                props.get("Handler", defaults.get("Handler")),
                env,
                int(props.get("Timeout", defaults.get("Timeout", 3))),
            )
        return specs

    def job_definitions(self) -> dict[str, JobDefinitionSpec]:
        specs = {}
        for name, resource in self.resources.items():
            if resource["Type"] != "AWS::Batch::JobDefinition":
                continue
            props = resource["Properties"]
            container = props["ContainerProperties"]
            retry = props.get("RetryStrategy", {})
            specs[name] = JobDefinitionSpec(
                name,
                [str(part) for part in container["Command"]],
                {k: str(v) for k, v in props.get("Parameters", {}).items()},
                int(retry.get("Attempts", 1)),
                list(retry.get("EvaluateOnExit", [])),
                props.get("Timeout", {}).get("AttemptDurationSeconds"),
                _plain(container.get("Environment")),
            )
        return specs

    def state_machine(self) -> tuple[Path, dict[str, Any]]:
        props = self.resources[STATE_MACHINE_RESOURCE]["Properties"]
        return self.root / props["DefinitionUri"], props.get("DefinitionSubstitutions", {})

    def definition(self) -> str:
        """The ASL with its ``${...}`` filled with this runner's local ARNs."""
        path, substitutions = self.state_machine()
        text = path.read_text()
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", self.local_value(value))
        return text

    def local_value(self, value: Any) -> str:
        """The local stand-in of a substitution's value (a function, job definition or queue ARN)."""
        functions, jobs = self.functions(), self.job_definitions()
        if isinstance(value, str):
            return value
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in functions:
            return functions[value["Fn::GetAtt"][0]].arn
        if "Ref" in value:
            name = value["Ref"]
            if name in jobs:
                return jobs[name].arn
            resource_type = self.resources.get(name, {}).get("Type")
            if resource_type == "AWS::Batch::JobQueue" or name == "JobQueueArn":
                return QUEUE_ARN
        if "Fn::If" in value:
            return self.local_value(value["Fn::If"][1])
        raise ValueError(f"no local value for the substitution {value!r}")


# ------------------------------------------------------------------ Lambda


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(default_factory=lambda: time.monotonic() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """The handler function of ``spec``, imported as the Lambda runtime would (module per function)."""
    import importlib.util

    module_name, function_name = spec.handler.rsplit(".", 1)
    unique = f"pavi_local_{spec.logical_id}_{module_name}"
    if unique in sys.modules:
        module = sys.modules[unique]
    else:
        source = importlib.util.spec_from_file_location(unique, spec.code_dir / f"{module_name}.py")
        if source is None or source.loader is None:
            raise ImportError(f"cannot load {spec.code_dir / module_name}.py")
        module = importlib.util.module_from_spec(source)
        sys.modules[unique] = module
        source.loader.exec_module(module)
    handler: Callable[[Any, Any], Any] = getattr(module, function_name)
    return handler


# ------------------------------------------------------------------ Batch


@dataclass
class LocalJob:
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


class LocalBatch:
    """AWS Batch for one machine: each job a local process of the image's entrypoint."""

    def __init__(
        self, definitions: dict[str, JobDefinitionSpec], env: dict[str, str], log_dir: Path, in_process: bool = False
    ):
        self.in_process = in_process  # run the entrypoint's main() in a thread: for scale tests only
        self.by_arn = {spec.arn: spec for spec in definitions.values()}
        self.env = env
        self.log_dir = log_dir
        self.jobs: dict[str, LocalJob] = {}
        self.lock = threading.Lock()
        self.entrypoint = entrypoint_command()
        # test hook: called with (job, attempt number, process) once the process started
        self.on_start: Callable[[LocalJob, int, subprocess.Popen[bytes]], None] | None = None

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        definition = self.by_arn.get(request.get("jobDefinition", ""))
        if definition is None:
            raise KeyError(f"unknown job definition {request.get('jobDefinition')!r}")
        parameters = {**definition.defaults, **(request.get("parameters") or {})}
        command = [parameters.get(part[5:], part) if part.startswith("Ref::") else part for part in definition.command]
        job = LocalJob(str(uuid.uuid4()), request.get("jobName", definition.logical_id), definition, command)
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

    def _run(self, job: LocalJob) -> None:
        if self.in_process:
            from pavi.cli import main

            job.status = "RUNNING"
            started = time.time()
            exit_code = main(job.command)
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


def entrypoint_command() -> list[str]:
    """The images' ENTRYPOINT (``pavi``): the console script beside this interpreter, or ``-m``."""
    script = Path(sys.executable).with_name("pavi")
    if script.is_file():
        return [str(script)]
    found = shutil.which("pavi")
    return [found] if found else [sys.executable, "-m", "pavi.cli"]


# ------------------------------------------------------------------ botocore hooks


class _Http:
    def __init__(self, status_code: int):
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def _metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}, "RetryAttempts": 0}


def _client_error(status: int, code: str, message: str) -> tuple[_Http, dict[str, Any]]:
    return _Http(status), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": _metadata(status)}


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


def _camel_case_submit(params: dict[str, Any], **_: Any) -> None:
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


@dataclass
class Faults:
    """Failures a test asks for: a Lambda throttled ``n`` times, raising ``n`` times, or slow."""

    throttle: dict[str, int] = field(default_factory=dict)
    raise_errors: dict[str, int] = field(default_factory=dict)
    # function -> (seconds to sleep before the handler, how many invocations)
    slow: dict[str, tuple[float, int]] = field(default_factory=dict)


class LocalStack:
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
        self.function_timeouts = function_timeouts or {}
        self.model = StackModel.load(root)
        self.functions = self.model.functions()
        self.functions_by_arn = {spec.arn: spec for spec in self.functions.values()}
        self.handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self.extra_env = env or {}
        self.log_dir = log_dir
        self.faults = Faults()
        self.invocations: list[tuple[str, float, float]] = []  # (function, started, ended): epoch seconds
        self._saved_env: dict[str, str | None] = {}
        self._server: Any = None
        self._session: Any = None
        self._scratch: Path | None = None
        self.batch: LocalBatch
        self.state_machine_arn = ""

    # -- lifecycle
    def __enter__(self) -> LocalStack:
        import boto3
        from moto.server import ThreadedMotoServer

        from pavi.sources import reset_clients

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
        self.batch = LocalBatch(self.model.job_definitions(), child_env, self.log_dir, self.in_process_batch)
        self._session = boto3._get_default_session()  # the session moto's interpreter makes its clients from
        events = self._session.events
        events.register("before-call.lambda.Invoke", self._invoke, unique_id="pavi-local-lambda")
        events.register("before-parameter-build.batch.SubmitJob", _camel_case_submit, unique_id="pavi-local-case")
        events.register("before-call.batch.SubmitJob", self._submit, unique_id="pavi-local-submit")
        events.register("before-call.batch.DescribeJobs", self._describe, unique_id="pavi-local-describe")
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
        from pavi.sources import reset_clients

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

    # -- hooks
    def _invoke(self, params: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
        from botocore.response import StreamingBody

        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        spec = self.functions_by_arn.get(name)
        if spec is None:
            return _client_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        if self.faults.throttle.get(spec.logical_id, 0) > 0:
            self.faults.throttle[spec.logical_id] -= 1
            return _client_error(429, "TooManyRequestsException", "Rate exceeded")
        body = params.get("body") or b"{}"
        event = json.loads(body if isinstance(body, bytes | str) else body.read())
        handler = self.handlers.get(spec.logical_id)
        if handler is None:
            handler = self.handlers[spec.logical_id] = load_handler(spec)
        timeout = self.function_timeouts.get(spec.logical_id, spec.timeout)
        context = LambdaContext(spec.logical_id, spec.arn, deadline=time.monotonic() + timeout)
        started = time.time()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                delay, times = self.faults.slow.get(spec.logical_id, (0.0, 0))
                if times > 0:
                    self.faults.slow[spec.logical_id] = (delay, times - 1)
                    time.sleep(delay)
                if self.faults.raise_errors.get(spec.logical_id, 0) > 0:
                    self.faults.raise_errors[spec.logical_id] -= 1
                    raise ConnectionError("injected: the function failed once")
                outcome["result"] = handler(event, context)
            except Exception as error:
                outcome["error"] = error

        worker = threading.Thread(target=run, name=f"lambda-{spec.logical_id}", daemon=True)
        worker.start()
        worker.join(timeout)
        function_error = None
        if worker.is_alive():  # as Lambda does: the invocation ends, the error is Sandbox.Timedout
            function_error = "Unhandled"
            payload = json.dumps(
                {"errorMessage": f"Task timed out after {timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            ).encode()
        elif "error" in outcome:
            error = outcome["error"]
            function_error = "Unhandled"
            payload = json.dumps(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            ).encode()
        else:
            payload = json.dumps(outcome["result"]).encode()
        self.invocations.append((spec.logical_id, started, time.time()))
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": _metadata(200),
        }
        if function_error:
            response["FunctionError"] = function_error
        return _Http(200), response

    def _submit(self, params: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
        try:
            answer = self.batch.submit(json.loads(params.get("body") or b"{}"))
        except KeyError as error:
            return _client_error(400, "ClientException", str(error))
        # Step Functions reads the submission's JobId in PascalCase (moto's integration too)
        return _Http(200), {**answer, **{k[0].upper() + k[1:]: v for k, v in answer.items()}}

    def _describe(self, params: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
        request = json.loads(params.get("body") or b"{}")
        return _Http(200), {"jobs": self.batch.describe(request.get("jobs", [])), "ResponseMetadata": _metadata(200)}

    # -- executions
    def start(self, payload: Any, job_id: str | None = None) -> tuple[str, str]:
        """Start a job as the API does: a large request goes to the job store first."""
        from pavi.pipeline import JobPaths, execution_input

        job_id = job_id or str(uuid.uuid4())
        start = execution_input(payload, JobPaths(f"s3://{LOCAL_BUCKET}", job_id))
        arn = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=job_id, input=json.dumps(start))[
            "executionArn"
        ]
        return job_id, arn

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        from pavi.joblog import execution_history

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
