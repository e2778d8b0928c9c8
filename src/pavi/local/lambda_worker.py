"""One Lambda execution environment: a process that loads one function's handler and runs
the invocations its host sends it, one at a time.

The host (:class:`pavi.local.lambda_host.LambdaHost`) forks it from its fork server, which
has the SDK and pydantic loaded (the libraries every function imports: loading them once
keeps a local run quick), and :func:`serve` gives it the function's own environment only
(the template's variables, the runtime's ``AWS_LAMBDA_*``, its role's credentials), its log
as standard output and error, and its handler, imported as the runtime would. Each request
is ``{"event", "request_id", "timeout"}``; each answer ``{"result": ...}`` or
``{"error": {"errorMessage", "errorType", "stackTrace"}}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LambdaContext:
    """The parts of the Lambda runtime's context object the handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(default_factory=lambda: time.monotonic() + 900)
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_module_handler(code_dir: Path, handler: str, module_key: str | None = None) -> Any:
    """The handler named ``module.function`` in ``code_dir``, imported as the runtime would."""
    module_name, function_name = handler.rsplit(".", 1)
    key = module_key or module_name
    source = importlib.util.spec_from_file_location(key, code_dir / f"{module_name}.py")
    if source is None or source.loader is None:
        raise ImportError(f"cannot load {code_dir / module_name}.py")
    module = importlib.util.module_from_spec(source)
    sys.modules[key] = module
    try:
        source.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(key, None)
        raise
    return getattr(module, function_name)


def error_payload(error: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def serve(
    code_dir: str,
    handler_name: str,
    env: dict[str, str],
    connection: Any,
    log_path: str,
    importable: frozenset[str] | None = None,
) -> None:
    """One execution environment, forked from the host's fork server: the function's own
    environment (nothing of the host's), its log, its handler, then its invocations. With
    ``importable`` (a zip function's), only the standard library, its code and those top-level
    packages (its layers' and the runtime's: :mod:`pavi.local.layers`) can be imported."""
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own streams
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.path.insert(0, code_dir)
    if importable is not None:
        from pavi.local.layers import LayerGuard

        sys.meta_path.insert(0, LayerGuard(importable, code_dir))
    init_error = None
    try:
        handler = load_module_handler(Path(code_dir), handler_name)
    except Exception as error:  # Runtime.ImportModuleError: every invocation reports it
        init_error = error
    name = env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    arn = env.get("PAVI_LOCAL_FUNCTION_ARN", name)
    memory = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    connection.send({"ready": True})  # the init phase is over: invocations' time-outs start now
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        context = LambdaContext(
            name,
            arn,
            memory,
            request["request_id"],
            time.monotonic() + float(request["timeout"]),
            log_group_name=f"/aws/lambda/{name}",
        )
        try:
            if init_error is not None:
                raise init_error
            answer: dict[str, Any] = {"result": handler(request["event"], context)}
            json.dumps(answer)  # what the runtime returns must serialise
        except Exception as error:
            answer = {"error": {**error_payload(error), "requestId": context.aws_request_id}}
        connection.send(answer)
