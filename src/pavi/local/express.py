"""What moto 5.2.5 lacks for Express workflows, supplied here as AWS behaves
(``docs/decisions.md`` §22):

- **Creation.** AWS refuses an ``EXPRESS`` definition with a ``.sync`` or
  ``.waitForTaskToken`` task, or an activity, with ``InvalidDefinition``; moto creates it.
  :func:`express_problem` finds such a task and the creation is refused with AWS's message.
- **StartSyncExecution.** moto's server has no such action. It is answered here for EXPRESS
  machines only (``StateMachineTypeNotSupported`` for STANDARD, as AWS), with Express's limits
  (5 minutes, then ``TIMED_OUT``; 256 KB of input, else ``ValidationException``; 256 KB of
  output, else ``States.DataLimitExceeded``) and AWS's answer: ``status``, ``output``,
  ``error``, ``cause`` and ``billingDetails`` (64 MB, 100-ms steps). moto's request
  authorization checks ``states:StartSyncExecution`` on the machine for the signed caller,
  as it does for every other action (:mod:`pavi.local.iam`). Like AWS, a synchronous
  execution is not kept: ``DescribeExecution`` does not find it.
- **Which machine calls.** Each execution's thread records its machine's role
  (:func:`calling_role`), so the Lambda, Batch and Step Functions calls it makes are
  authorized as that role.
"""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pavi.local.policies import ALLOW, Principal, denial_message
from pavi.local.template import states_of

EXPRESS_SECONDS = 300.0  # Express's longest execution
PAYLOAD_LIMIT = 262_144  # bytes of input or output
BILLED_MEMORY_MB = 64
WAITING_INTEGRATIONS = (".sync", ".sync:2", ".waitForTaskToken")  # what an Express workflow may not use
_running = threading.local()
_lock = threading.Lock()


def calling_role() -> str | None:
    """The role ARN of the state machine whose execution runs on this thread, or None."""
    return getattr(_running, "role_arn", None)


class _RoleThread(threading.Thread):
    """A thread of moto's interpreter that keeps the role of the execution that started it
    (the interpreter runs a program, and each Map iteration, in threads of its own)."""

    def __init__(self, group: None = None, target: Any = None, **kwargs: Any):
        role = calling_role()

        def run(*call_args: Any, **call_kwargs: Any) -> Any:
            _running.role_arn = role
            return target(*call_args, **call_kwargs) if target is not None else None

        super().__init__(group, run, **kwargs)


class _Threading:
    """``threading`` for moto's interpreter modules, with :class:`_RoleThread` as its ``Thread``."""

    Thread = _RoleThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


def _interpreter_threads(module: Any, thread: Any, modules: list[Any] | None = None) -> list[Any]:
    """Give moto's interpreter modules (each state, Map iteration and Parallel branch may run
    in a thread of its own) this ``threading`` and ``Thread``; returns the modules changed."""
    import sys

    import moto.stepfunctions.parser.asl.component.state.exec.execute_state  # noqa: F401  (loaded now)

    if modules is None:
        prefix = "moto.stepfunctions.parser."
        modules = [m for n, m in list(sys.modules.items()) if n.startswith(prefix) and m is not None]
        modules = [
            m
            for m in modules
            if getattr(m, "threading", None) is threading or getattr(m, "Thread", None) is threading.Thread
        ]
    for found in modules:
        if getattr(found, "threading", None) is not None:
            found.threading = module
        if getattr(found, "Thread", None) is not None:
            found.Thread = thread
    return modules


class MachineCaller:
    """Who calls from a state machine's execution: the role of the machine whose execution
    runs on this thread (:func:`pavi.local.express.calling_role`), else ``default``."""

    def __init__(self, principals: dict[str, Principal], default: Principal):
        self.principals = principals
        self.default = default

    def current(self) -> Principal:
        arn = calling_role()
        return next((p for p in self.principals.values() if arn and p.arn == arn), self.default)

    @property
    def caller(self) -> str:
        return self.current().caller

    def allows(self, action: str, resource: str, context: dict[str, str] | None = None) -> str:
        return self.current().allows(action, resource, context)


def express_problem(definition: str) -> str | None:
    """AWS's message refusing ``definition`` for an EXPRESS machine, or None."""
    for path, _, state in states_of(json.loads(definition)):
        resource = str(state.get("Resource", "")) if state.get("Type") == "Task" else ""
        waits = resource.startswith("arn:aws:states:::") and resource.endswith(WAITING_INTEGRATIONS)
        if ":activity:" in resource:
            what = "Express state machine does not support Activity ARN"
        elif waits:
            what = "Express state machine does not support '.sync' service integration."
        else:
            continue
        return f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {what} at {path}/Resource'"
    return None


def check_start(name: str, text: str) -> None:
    """What Step Functions refuses of a ``StartExecution`` or ``StartSyncExecution``, with its error
    codes (moto 5.2.5 takes any name and any input): a name outside AWS's rules (1 to 80
    characters; no white space, brackets, wildcards, ``"#%\\^|~`$&,;:/`` or control characters),
    an input over 256 KB, an input that is not JSON."""
    from moto.stepfunctions.exceptions import InvalidExecutionInput, InvalidName, ValidationException

    if not 1 <= len(name) <= 80 or any(c in _NOT_IN_NAMES or c.isspace() or _control(c) for c in name):
        raise InvalidName(f"Invalid Name: '{name}'")
    if len(text.encode()) > PAYLOAD_LIMIT:
        raise ValidationException(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {PAYLOAD_LIMIT}"
        )
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from error


_NOT_IN_NAMES = set('<>{}[]?*"#%\\^|~`$&,;:/')


def _control(character: str) -> bool:
    return ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F


def _start_execution(self: Any) -> Any:
    """moto's ``StartExecution``, refusing what Step Functions refuses (:func:`check_start`)."""
    # a name is optional: Step Functions gives one (a UUID) when the call has none
    check_start(self._get_param("name") or _new_name(), self._get_param("input", if_none="{}"))
    return _moto_start_execution(self)


_moto_start_execution: Any = None


def _start_sync_execution(self: Any) -> Any:
    """moto's missing ``StartSyncExecution`` (a method of its ``StepFunctionResponse``)."""
    from moto.core.exceptions import AWSError
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import StateMachineType
    from moto.stepfunctions.parser.backend.execution import SyncExecution

    arn = self._get_param("stateMachineArn")
    name = self._get_param("name") or _new_name()
    text = self._get_param("input", if_none="{}")
    machine = self.stepfunction_backend.describe_state_machine(arn)
    if machine.type != "EXPRESS":
        raise AWSError("This operation is not supported by this type of state machine", "StateMachineTypeNotSupported")
    check_start(name, text)
    started = datetime.datetime.now(datetime.UTC)
    execution = SyncExecution(
        name=name,
        sm_type=StateMachineType.EXPRESS,
        role_arn=machine.roleArn,
        exec_arn=arn.replace(":stateMachine:", ":express:") + f":{name}:{_new_name()}",
        account_id=self.current_account,
        region_name=self.region,
        state_machine=machine,
        start_date=started,
        cloud_watch_logging_session=None,
        activity_store={},
        input_data=text,
    )
    runner = threading.Thread(target=execution.start, name=f"express-{name}", daemon=True)
    runner.start()
    runner.join(EXPRESS_SECONDS)
    answer: dict[str, Any] = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": arn,
        "name": name,
        "startDate": started,
        "input": text,
        "inputDetails": {"included": True},
    }
    if runner.is_alive():  # Express's 5 minutes: the execution is stopped
        execution.stop(datetime.datetime.now(datetime.UTC), "States.Timeout", "The execution timed out.")
        answer |= {"status": "TIMED_OUT", "error": "States.Timeout", "cause": "The execution timed out."}
    elif execution.exec_status is not None and execution.exec_status.value == "SUCCEEDED":
        output = json.dumps(execution.output, separators=(",", ":"))
        if len(output.encode()) > PAYLOAD_LIMIT:
            cause = "The state/task returned a result with a size exceeding the maximum number of bytes service limit."
            answer |= {"status": "FAILED", "error": "States.DataLimitExceeded", "cause": cause}
        else:
            answer |= {"status": "SUCCEEDED", "output": output, "outputDetails": {"included": True}}
    else:  # FAILED, or TIMED_OUT by the definition's own TimeoutSeconds
        status = execution.exec_status.value if execution.exec_status is not None else "FAILED"
        answer["status"] = "TIMED_OUT" if status == "TIMED_OUT" else "FAILED"
        answer |= {k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v is not None}
    stopped = datetime.datetime.now(datetime.UTC)
    billed = max(100, math.ceil((stopped - started).total_seconds() * 10) * 100)
    answer |= {
        "stopDate": stopped,
        "billingDetails": {"billedMemoryUsedInMB": BILLED_MEMORY_MB, "billedDurationInMilliseconds": billed},
    }
    return ActionResult(answer)


def _new_name() -> str:
    import uuid

    return str(uuid.uuid4())


@contextmanager
def installed() -> Iterator[None]:
    """moto with Express's rules and ``StartSyncExecution``, inside the block."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    create = StepFunctionsParserBackend.create_state_machine
    logic = ExecutionWorker._execution_logic

    def create_state_machine(self: Any, name: str, definition: str, roleArn: str, **kwargs: Any) -> Any:
        if (kwargs.get("sm_type") or "STANDARD") == "EXPRESS" and (problem := express_problem(definition)):
            raise AWSError(problem, "InvalidDefinition")
        return create(self, name, definition, roleArn, **kwargs)

    def execution_logic(self: Any) -> None:
        _running.role_arn = self._evaluation_details.aws_execution_details.role_arn
        try:
            logic(self)  # type: ignore[no-untyped-call]
        finally:
            _running.role_arn = None

    global _moto_start_execution
    with _lock:
        _moto_start_execution = StepFunctionResponse.start_execution
        StepFunctionResponse.start_execution = _start_execution  # type: ignore[method-assign]
        StepFunctionsParserBackend.create_state_machine = create_state_machine  # type: ignore[method-assign,assignment]
        ExecutionWorker._execution_logic = execution_logic  # type: ignore[method-assign]
        StepFunctionResponse.start_sync_execution = _start_sync_execution  # type: ignore[attr-defined]
        threaded = _interpreter_threads(_Threading(), _RoleThread)
    try:
        yield
    finally:
        with _lock:
            StepFunctionsParserBackend.create_state_machine = create  # type: ignore[method-assign]
            ExecutionWorker._execution_logic = logic  # type: ignore[method-assign]
            del StepFunctionResponse.start_sync_execution  # type: ignore[attr-defined]
            StepFunctionResponse.start_execution = _moto_start_execution  # type: ignore[method-assign]
            _interpreter_threads(threading, threading.Thread, threaded)


class HandOffHook:
    """botocore ``before-call.sfn.StartExecution`` for a state machine's execution (the Express
    workflow's hand-off): authorized as the calling machine's role (``caller``, a
    :class:`~pavi.local.iam.MachineCaller`), then made with ``forward`` (a client outside
    the hooked session). Calls from anywhere else go to moto as they are."""

    def __init__(self, caller: Any, forward: Any):
        self.caller = caller
        self.forward = forward

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        from pavi.local.responses import HttpAnswer, client_error, metadata

        if calling_role() is None:
            return None
        body = json.loads(params.get("body") or b"{}")
        target = str(body.get("stateMachineArn", ""))
        decision = self.caller.allows("states:StartExecution", target)
        if decision != ALLOW:
            message = denial_message(self.caller.caller, "states:StartExecution", target, decision)
            return client_error(400, "AccessDeniedException", message)
        try:
            started = self.forward.start_execution(
                stateMachineArn=target, name=body.get("name"), input=body.get("input", "{}")
            )
        except self.forward.exceptions.ClientError as error:
            details = error.response["Error"]
            return client_error(400, str(details.get("Code")), str(details.get("Message")))
        # the task's result as Step Functions' optimized integration gives it (PascalCase)
        answer = {"ExecutionArn": started["executionArn"], "StartDate": started["startDate"]}
        return HttpAnswer(200), {**answer, "ResponseMetadata": metadata(200)}


def camel_case_start(params: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parameter-build.sfn.StartExecution``: what Step Functions does to a
    ``states:startExecution`` task's parameters and moto does not (``StateMachineArn``,
    ``Name``, ``Input`` to the API's ``stateMachineArn``, ``name``, ``input``)."""
    for key in [k for k in params if k in {"StateMachineArn", "Name", "Input", "TraceHeader"}]:
        params[key[0].lower() + key[1:]] = params.pop(key)
