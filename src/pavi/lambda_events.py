"""The events the state machine sends to the step Lambdas (parsed with Powertools' Parser).

The state machine builds them in ``statemachine/pipeline.asl.json``:

- validation: ``{"input": <execution input>, "job_id": $$.Execution.Name, "started_at": $$.Execution.StartTime}``
- preparation, collection: ``{"state": $, "entered_at": $$.State.EnteredTime}``
- failure recording: ``{"state": $, "job_id": $$.Execution.Name, "entered_at": $$.State.EnteredTime}``

The job store is the deployment's bucket (``PAVI_BUCKET``), never a field of the event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from pavi.pipeline import JobStateError

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "pavi"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "PAVI", service=SERVICE)

BUCKET_ENV = "PAVI_BUCKET"


class ValidateEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: Any
    job_id: str = Field(min_length=1, max_length=80)
    started_at: str | None = None


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: dict[str, Any]
    entered_at: str | None = None
    job_id: str | None = Field(default=None, min_length=1, max_length=80)


def job_store() -> str:
    """``s3://`` + the deployment's bucket (``PAVI_BUCKET``)."""
    bucket = os.environ.get(BUCKET_ENV, "").strip()
    if not bucket:
        raise JobStateError(f"{BUCKET_ENV} is not set: the function does not know its job bucket")
    return bucket if bucket.startswith("s3://") else f"s3://{bucket}"


def step_handler[Model: BaseModel](
    model: type[Model],
) -> Callable[[Callable[[Model, LambdaContext], dict[str, Any]]], Callable[[dict[str, Any], LambdaContext], Any]]:
    """Make a Lambda handler of a step: the event validated into ``model`` (a pydantic model,
    as Powertools' Parser would, without importing its catalogue of event models), the
    Lambda context in the logs, and the metrics flushed at the end.

    No X-Ray SDK: importing it costs about 300 ms of cold start per function, and the
    functions' active tracing (``Tracing: Active``) and the state machine's tracing already
    trace every invocation.
    """

    def wrap(
        function: Callable[[Model, LambdaContext], dict[str, Any]],
    ) -> Callable[[dict[str, Any], LambdaContext], Any]:
        @wraps(function)
        def parsed(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return function(model.model_validate(event), context)

        handler: Callable[[dict[str, Any], LambdaContext], Any] = logger.inject_lambda_context(
            metrics.log_metrics(parsed)
        )
        return handler

    return wrap
