"""AWS Lambda for one machine: each function's handler in execution environments of its own.

:class:`LambdaHost` answers ``lambda.Invoke`` (a botocore ``before-call`` hook on the
session moto's Step Functions interpreter makes its clients from). Each function runs in
worker processes (:mod:`pavi.local.lambda_worker`), as in Lambda: started cold on first
use with the function's own environment (the template's variables, resolved) and its own
role's credentials, then kept warm; a second concurrent invocation gets a second worker.
The caller must be allowed ``lambda:InvokeFunction`` on the function (the state machine's
role, from the template). Answers are Lambda's: the result, an ``Unhandled`` function error
with the exception's message and type, ``Sandbox.Timedout`` past the time-out (the worker is
killed, as Lambda resets the environment), or a throttle (429) when a test asks for one.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pavi.local.express import MachineCaller
from pavi.local.lambda_worker import LambdaContext, load_module_handler, serve
from pavi.local.policies import ALLOW, Principal, denial_message
from pavi.local.responses import HttpAnswer, client_error, metadata
from pavi.local.template import FunctionSpec

__all__ = ["Faults", "LambdaContext", "LambdaHost", "load_handler"]

_load_lock = threading.Lock()


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """The handler of ``spec`` imported into this process (for tests of a handler alone).

    Loading is serialised: a module is put in ``sys.modules`` before it has run, so a second
    caller must not see it half-loaded.
    """
    module_name = spec.handler.rsplit(".", 1)[0]
    unique = f"pavi_local_{spec.logical_id}_{module_name}"
    with _load_lock:
        module = sys.modules.get(unique)
        if module is not None:
            handler: Callable[[Any, Any], Any] = getattr(module, spec.handler.rsplit(".", 1)[1])
            return handler
        loaded: Callable[[Any, Any], Any] = load_module_handler(spec.code_dir, spec.handler, unique)
        return loaded


# What every function imports, loaded once in the fork server (none of it reads the environment
# when imported: each worker's environment is its own).
WORKERS_PER_FUNCTION = int(os.environ.get("PAVI_LOCAL_LAMBDA_WORKERS") or 8)
INIT_LIMIT = 120.0  # seconds a local environment may take to load its handler
PRELOAD = ["pavi.local.lambda_worker", "boto3", "botocore.client", "botocore.session", "pydantic", "urllib3"]
_fork_context: Any = None
_fork_lock = threading.Lock()


def fork_context() -> Any:
    """multiprocessing's fork-server context, with :data:`PRELOAD` loaded in the server."""
    global _fork_context
    with _fork_lock:
        if _fork_context is None:
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _fork_context = context
        return _fork_context


class Worker:
    """One execution environment: a process forked for one function (:func:`lambda_worker.serve`)."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], log: Path):
        self.env = env
        context = fork_context()
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=serve,
            args=(str(spec.code_dir), spec.handler, env, child, str(log), spec.importable),
            name=f"lambda-{spec.logical_id}",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> bool:
        """Wait for the end of the worker's init phase (its handler loaded). Lambda limits init to
        10 s on its own CPU; here many environments may start at once on a few cores, so the
        limit is :data:`INIT_LIMIT` and init never counts in an invocation's time-out."""
        if self.ready:
            return True
        try:
            if self.connection.poll(INIT_LIMIT):
                self.ready = bool(self.connection.recv().get("ready"))
        except (EOFError, OSError):
            return False
        return self.ready

    def invoke(self, event: Any, request_id: str, timeout: float) -> dict[str, Any] | None:
        """The worker's answer, or None past ``timeout`` seconds (the worker is then killed)."""
        if not self.ready:  # its init never ended (or it died in it): no answer would be its own
            self.kill()
            return {"error": {"errorMessage": "the environment's init did not end", "errorType": "Runtime.InitError"}}
        try:
            self.connection.send({"event": event, "request_id": request_id, "timeout": timeout})
            if not self.connection.poll(timeout):
                self.kill()
                return None
            answer: dict[str, Any] = self.connection.recv()
            return answer
        except (EOFError, OSError):  # the environment is gone (killed, out of memory)
            self.process.join()
            code = self.process.exitcode
            return {"error": {"errorMessage": f"exited with {code}", "errorType": "Runtime.ExitError"}}

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()

    def close(self) -> None:
        self.connection.close()  # the worker sees the end of its requests and returns
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@dataclass
class Faults:
    """Failures a test asks for: a Lambda throttled ``n`` times, raising ``n`` times, or slow."""

    throttle: dict[str, int] = field(default_factory=dict)
    raise_errors: dict[str, int] = field(default_factory=dict)
    # function -> how many of its next invocations find it inactive (an idle image function)
    not_ready: dict[str, int] = field(default_factory=dict)
    # function -> (seconds to sleep before the handler, how many invocations)
    slow: dict[str, tuple[float, int]] = field(default_factory=dict)
    # S3 action (PutObject, GetObject...) -> how many of its next requests, from any caller,
    # S3 answers 503 SlowDown (decided in the S3 server, so it reaches every process)
    s3_slow_down: dict[str, int] = field(default_factory=dict)
    s3_injected: int = 0
    # function -> an event its next invocation waits for before its handler runs (a job held
    # "running"); the functions whose hold was reached are added to ``held``
    hold: dict[str, threading.Event] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_s3_error(self, action: str) -> tuple[str, str] | None:
        with self._lock:
            if self.s3_slow_down.get(action, 0) <= 0:
                return None
            self.s3_slow_down[action] -= 1
            self.s3_injected += 1
        return "SlowDown", "Please reduce your request rate."


class LambdaHost:
    """Runs the template's functions in worker processes, as ``lambda.Invoke`` answers them."""

    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        environment: Callable[[FunctionSpec], dict[str, str]],
        log_dir: Path,
        caller: Principal | MachineCaller | None = None,
        timeouts: dict[str, int] | None = None,
        faults: Faults | None = None,
    ):
        self.functions = functions
        self.by_arn = {spec.arn: spec for spec in functions.values()}
        self.by_name = {**{spec.logical_id: spec for spec in functions.values()}, **self.by_arn}  # name or ARN
        self.environment = environment
        self.log_dir = log_dir
        self.caller = caller  # who invokes through lambda.Invoke: the state machine's role
        self.timeouts = timeouts or {}
        self.faults = faults or Faults()
        self.invocations: list[tuple[str, float, float]] = []  # (function, started, ended): epoch seconds
        self._idle: dict[str, list[Worker]] = {}
        self._warming: dict[str, threading.Event] = {}
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._slot_by_function: dict[str, threading.BoundedSemaphore] = {}

    def invoke_hook(self, params: dict[str, Any], **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        """botocore ``before-call.lambda.Invoke``: the invocation's answer, made here."""
        from botocore.response import StreamingBody

        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        spec = self.by_name.get(name)
        if spec is None:
            return client_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        if self.caller is not None:
            decision = self.caller.allows("lambda:InvokeFunction", spec.arn)
            if decision != ALLOW:
                message = denial_message(self.caller.caller, "lambda:InvokeFunction", spec.arn, decision)
                return client_error(403, "AccessDeniedException", message)
        if self.faults.not_ready.get(spec.logical_id, 0) > 0:
            self.faults.not_ready[spec.logical_id] -= 1
            message = "The function is currently in the following state: Inactive"  # Lambda's, while it restores
            return client_error(502, "ResourceNotReadyException", message)
        if self.faults.throttle.get(spec.logical_id, 0) > 0:
            self.faults.throttle[spec.logical_id] -= 1
            return client_error(429, "TooManyRequestsException", "Rate exceeded")
        body = params.get("body") or b"{}"
        event = json.loads(body if isinstance(body, bytes | str) else body.read())
        result, function_error = self.invoke(spec, event)
        payload = json.dumps(result).encode()
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": metadata(200),
        }
        if function_error:
            response["FunctionError"] = function_error
        return HttpAnswer(200), response

    def invoke(self, spec: FunctionSpec, event: Any) -> tuple[Any, str | None]:
        """Run the function on ``event`` within its time-out: (its result, or Lambda's error
        payload, and the function error: ``Unhandled`` or None)."""
        timeout = self.timeouts.get(spec.logical_id, spec.timeout)
        started = time.time()
        request_id = str(uuid.uuid4())
        delay, times = self.faults.slow.get(spec.logical_id, (0.0, 0))
        if times > 0:
            self.faults.slow[spec.logical_id] = (delay, times - 1)
        if self.faults.raise_errors.get(spec.logical_id, 0) > 0:
            self.faults.raise_errors[spec.logical_id] -= 1
            answer: dict[str, Any] | None = {
                "error": {"errorMessage": "injected: the function failed once", "errorType": "ConnectionError"}
            }
        else:
            with self._slots(spec):
                worker = self._acquire(spec)
                worker.wait_ready()
                started = time.time()  # Lambda's clock: from the handler's call, init excluded
                if times > 0:
                    time.sleep(delay)
                if (hold := self.faults.hold.pop(spec.logical_id, None)) is not None:
                    self.faults.held.add(spec.logical_id)
                    hold.wait(timeout)
                answer = worker.invoke(event, request_id, max(0.001, timeout - (time.time() - started)))
                if answer is not None:
                    self._release(spec, worker)
        self.invocations.append((spec.logical_id, started, time.time()))
        if answer is None:  # as Lambda does: the invocation ends, the error is Sandbox.Timedout
            error = {"errorMessage": f"Task timed out after {timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            return error, "Unhandled"
        if "error" in answer:
            return {**answer["error"], "requestId": request_id}, "Unhandled"
        return answer["result"], None

    def call(self, name: str, event: Any) -> Any:
        """Invoke ``name`` as a client would and return its result (raises on a function error)."""
        result, error = self.invoke(self.functions[name], event)
        if error:
            raise RuntimeError(f"{name}: {result.get('errorType')}: {result.get('errorMessage')}")
        return result

    def _slots(self, spec: FunctionSpec) -> threading.BoundedSemaphore:
        """At most :data:`WORKERS_PER_FUNCTION` environments of a function run at once here.

        Lambda would run 100 concurrent invocations in 100 environments, each with its own CPU;
        on a machine of a few cores that many processes only make every invocation slower (and
        use a GB each ten). Invocations past the limit wait for a free environment, and the wait
        does not count in their time-out (``docs/decisions.md`` §18)."""
        with self._lock:
            slot = self._slot_by_function.get(spec.logical_id)
            if slot is None:
                slot = self._slot_by_function[spec.logical_id] = threading.BoundedSemaphore(WORKERS_PER_FUNCTION)
            return slot

    def _acquire(self, spec: FunctionSpec) -> Worker:
        warming = self._warming.get(spec.logical_id)
        if warming is not None:  # a worker is being started for it: take that one
            warming.wait(30)
        env = self.environment(spec)
        stale = []
        with self._lock:
            idle = self._idle.setdefault(spec.logical_id, [])
            while idle:
                worker = idle.pop()
                if worker.alive() and worker.env == env:
                    break
                stale.append(worker)  # as in Lambda: new configuration, new execution environments
            else:
                worker = None
        for old in stale:
            old.close()
        return worker if worker is not None else self._new_worker(spec, env)

    def _new_worker(self, spec: FunctionSpec, env: dict[str, str]) -> Worker:
        worker = Worker(spec, env, self.log_dir / f"lambda-{spec.logical_id}.log")
        with self._lock:
            self._all.append(worker)
        return worker

    def prewarm(self, names: list[str]) -> None:
        """Start one execution environment for each of these functions in the background (the
        local stack's choice, to keep a local run quick; in AWS the first invocation is cold)."""

        def start(spec: FunctionSpec, ready: threading.Event) -> None:
            try:
                self._release(spec, self._new_worker(spec, self.environment(spec)))
            finally:
                ready.set()

        for name in names:
            ready = self._warming[name] = threading.Event()
            threading.Thread(target=start, args=(self.functions[name], ready), daemon=True).start()

    def _release(self, spec: FunctionSpec, worker: Worker) -> None:
        with self._lock:
            self._idle.setdefault(spec.logical_id, []).append(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], {}
        for worker in workers:
            worker.close()


@contextmanager
def served_by_moto(host: LambdaHost, lambda_client: Any, principals: dict[str, Principal]) -> Iterator[None]:
    """The stack's functions in moto's own Lambda service, for callers outside the state
    machines (the AWS CLI with ``pavi stack``'s keys, any SDK): ``ListFunctions``/``GetFunction``
    name them, and ``Invoke`` runs them in ``host`` (moto's would need Docker). IAM decides as
    for every call: the caller needs ``lambda:InvokeFunction`` on the function."""
    from moto.awslambda.responses import LambdaResponse

    for spec in host.by_arn.values():
        if spec.importable is None:
            continue  # the image function: moto would pull its image; it is invoked by the machines only
        lambda_client.create_function(
            FunctionName=spec.logical_id,
            Runtime="python3.13",
            Role=principals[spec.role].arn,
            Handler=spec.handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=spec.timeout,
            MemorySize=spec.memory,
        )
    original = LambdaResponse.invoke

    def invoke(self: Any) -> Any:
        spec = host.by_name.get(unquote(self.path.rsplit("/", 2)[-2]))
        if spec is None:
            return original(self)
        result, function_error = host.invoke(spec, json.loads(self.body or b"{}"))
        headers = {"content-type": "application/json", "x-amz-executed-version": "$LATEST"}
        if function_error:
            headers["x-amz-function-error"] = function_error
        return 200, headers, json.dumps(result)

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaResponse.invoke = original  # type: ignore[method-assign]


def _placeholder_zip() -> bytes:
    """A zip moto keeps as the function's code: the real code is the template's ``CodeUri``."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# pavi stack runs this function from its CodeUri\n")
    return buffer.getvalue()
