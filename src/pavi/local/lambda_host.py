"""AWS Lambda for one machine: the template's functions' handlers, run in this process.

:class:`LambdaHost` answers ``lambda.Invoke`` (a botocore ``before-call`` hook on the
session moto's Step Functions interpreter makes its clients from): it loads the function's
handler from the template's ``CodeUri`` and ``Handler`` as the Lambda runtime would (one
module per function), runs it with a Lambda context and the function's time-out, and
answers as Lambda does: the result, an ``Unhandled`` function error with the exception's
message and type, ``Sandbox.Timedout`` past the time-out, or a throttle (429) when a test
asks for one.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from pavi.local.responses import HttpAnswer, client_error, metadata
from pavi.local.template import FunctionSpec

_load_lock = threading.Lock()


@dataclass
class LambdaContext:
    """The parts of the Lambda runtime's context object the handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(default_factory=lambda: time.monotonic() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """The handler function of ``spec``, imported as the Lambda runtime would (module per function).

    Loading is serialised: a module is put in ``sys.modules`` before it has run, so a second
    caller must not see it half-loaded.
    """
    module_name, function_name = spec.handler.rsplit(".", 1)
    unique = f"pavi_local_{spec.logical_id}_{module_name}"
    with _load_lock:
        module = sys.modules.get(unique)
        if module is None:
            source = importlib.util.spec_from_file_location(unique, spec.code_dir / f"{module_name}.py")
            if source is None or source.loader is None:
                raise ImportError(f"cannot load {spec.code_dir / module_name}.py")
            module = importlib.util.module_from_spec(source)
            try:
                sys.modules[unique] = module
                source.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(unique, None)
                raise
    handler: Callable[[Any, Any], Any] = getattr(module, function_name)
    return handler


@dataclass
class Faults:
    """Failures a test asks for: a Lambda throttled ``n`` times, raising ``n`` times, or slow."""

    throttle: dict[str, int] = field(default_factory=dict)
    raise_errors: dict[str, int] = field(default_factory=dict)
    # function -> (seconds to sleep before the handler, how many invocations)
    slow: dict[str, tuple[float, int]] = field(default_factory=dict)


class LambdaHost:
    """Runs the template's functions in this process, as ``lambda.Invoke`` answers them."""

    def __init__(self, functions: dict[str, FunctionSpec], timeouts: dict[str, int] | None = None):
        self.functions = functions
        self.by_arn = {spec.arn: spec for spec in functions.values()}
        self.timeouts = timeouts or {}
        self.handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self.faults = Faults()
        self.invocations: list[tuple[str, float, float]] = []  # (function, started, ended): epoch seconds

    def handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        handler = self.handlers.get(spec.logical_id)
        if handler is None:
            handler = self.handlers[spec.logical_id] = load_handler(spec)
        return handler

    def invoke_hook(self, params: dict[str, Any], **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        """botocore ``before-call.lambda.Invoke``: the invocation's answer, made here."""
        from botocore.response import StreamingBody

        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        spec = self.by_arn.get(name)
        if spec is None:
            return client_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        if self.faults.throttle.get(spec.logical_id, 0) > 0:
            self.faults.throttle[spec.logical_id] -= 1
            return client_error(429, "TooManyRequestsException", "Rate exceeded")
        body = params.get("body") or b"{}"
        event = json.loads(body if isinstance(body, bytes | str) else body.read())
        payload, function_error = self.invoke(spec, event)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": metadata(200),
        }
        if function_error:
            response["FunctionError"] = function_error
        return HttpAnswer(200), response

    def invoke(self, spec: FunctionSpec, event: Any) -> tuple[bytes, str | None]:
        """Run the handler on ``event`` within the function's time-out: (payload, function error)."""
        handler = self.handler(spec)
        timeout = self.timeouts.get(spec.logical_id, spec.timeout)
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
        return payload, function_error
