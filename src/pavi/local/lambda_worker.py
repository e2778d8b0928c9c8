"""One Lambda execution environment: a process that loads one function's handler and runs
the invocations its host sends it, one at a time.

    python -m pavi.local.lambda_worker CODE_DIR MODULE.FUNCTION

The host (:class:`pavi.local.lambda_host.LambdaHost`) starts it with the function's own
environment (the template's variables, the runtime's, and its role's credentials) and
writes one JSON line per invocation on its standard input: ``{"event", "request_id",
"timeout"}``. It answers one JSON line on the file descriptor it was given for that:
``{"result": ...}`` or ``{"error": {"errorMessage", "errorType", "stackTrace"}}``.
Everything the handler prints or logs goes to standard error, the function's log.
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


def main(argv: list[str]) -> int:
    code_dir, handler_name = Path(argv[0]), argv[1]
    answers = os.fdopen(int(os.environ.pop("PAVI_LOCAL_ANSWER_FD")), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs: the function's log, never the answers
    sys.stdout = sys.stderr
    sys.path.insert(0, str(code_dir))
    init_error = None
    try:
        handler = load_module_handler(code_dir, handler_name)
    except Exception as error:  # Runtime.ImportModuleError: every invocation reports it
        init_error = error
    for module in filter(None, os.environ.pop("PAVI_LOCAL_PREIMPORT", "").split(",")):
        importlib.import_module(module)  # a pre-warmed environment: the SDK loaded before its first call
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    arn = os.environ.get("PAVI_LOCAL_FUNCTION_ARN", name)
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    for line in sys.stdin:
        request = json.loads(line)
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
        except Exception as error:
            answer = {"error": {**error_payload(error), "requestId": context.aws_request_id}}
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as error:  # the runtime cannot serialise the result
            text = json.dumps({"error": {**error_payload(error), "errorType": "Runtime.MarshalError"}})
        answers.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
