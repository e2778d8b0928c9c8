"""The step Lambdas' handlers, and the events the state machine sends them.

Each ``functions/<step>/app.py`` is one line that names its handler here; each handler is
a thin adapter over one step of :mod:`pavi.aws.steps` (event parsed, job id in the logs,
one metric).

The state machine builds them in ``statemachine/pipeline.asl.json``:

- validation: ``{"input": <execution input>, "job_id": $$.Execution.Name, "execution_id": $$.Execution.Id,
  "started_at": $$.Execution.StartTime}`` (the Express workflow adds ``keep_request`` and ``hands_off_to``)
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
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from pavi.aws.caught import alignment_lane, lanes_taken
from pavi.aws.job_store import JobStateError
from pavi.aws.lanes import entries_per_child_from_env
from pavi.aws.steps import (
    align_in_lambda,
    collect_results,
    prepare_alignment,
    record_failure,
    retrieve_in_lambda,
    validate_job,
)

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "pavi"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "PAVI", service=SERVICE)

BUCKET_ENV = "PAVI_BUCKET"


class ValidateEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: Any
    job_id: str = Field(min_length=1, max_length=80)
    started_at: str | None = None
    keep_request: bool = False  # the Express workflow's: the request kept for a hand-off
    # $$.Execution.Id: the one execution that runs the job (pavi.aws.job_requests.claim_execution)
    execution_id: str = Field(min_length=1, max_length=2048)
    hands_off_to: str | None = Field(default=None, max_length=2048)  # the Express workflow's: the Standard machine


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: dict[str, Any]
    entered_at: str | None = None
    job_id: str | None = Field(default=None, min_length=1, max_length=80)
    inline_alignment_bytes: int | None = Field(default=None, ge=0, le=200_000)  # the Express workflow's


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


def count_fallback(step: str, lanes: dict[str, Any], prefix: str = "") -> None:
    """A Lambda-lane fallback, as metrics (issue 23, item 4): ``LambdaLaneFallbacks`` by step and
    reason (the dashboard), ``LambdaLaneFallbacksAll`` (the alarm), and, when the deployment is
    at fault, ``LambdaLaneConfigurationErrors`` and an error in the log."""
    reason = lanes.get(f"{prefix}fallback_reason")
    if not reason:
        return
    namespace = metrics.namespace
    dimensions = {"service": SERVICE}
    with single_metric("LambdaLaneFallbacks", MetricUnit.Count, 1, namespace=namespace) as fallback:
        for name, value in {**dimensions, "Step": step, "Reason": str(reason)}.items():
            fallback.add_dimension(name, value)
    metrics.add_metric(name="LambdaLaneFallbacksAll", unit=MetricUnit.Count, value=1)
    logger.warning("the Lambda lane fell back", extra={"step": step, "reason": reason})
    if lanes.get("configuration_error"):
        metrics.add_metric(name="LambdaLaneConfigurationErrors", unit=MetricUnit.Count, value=1)
        logger.error(str(lanes["configuration_error"]), extra={"step": step, "reason": reason})


@step_handler(ValidateEvent)
def validate_input(event: ValidateEvent, context: LambdaContext) -> dict[str, Any]:
    """Input validation: the state machine's first step (:func:`pavi.aws.steps.validate_job`)."""
    logger.append_keys(job_id=event.job_id)
    per_child = entries_per_child_from_env()
    state = validate_job(
        event.input,
        event.job_id,
        job_store(),
        event.started_at,
        entries_per_child=per_child,
        keep_request=event.keep_request,
        execution_id=event.execution_id,
        hands_off_to=event.hands_off_to,
    )
    metrics.add_metric(name="JobEntries", unit=MetricUnit.Count, value=state["entry_count"])
    logger.info("request valid", extra={"entries": state["entry_count"]})
    return state


@step_handler(StepEvent)
def retrieve_entries(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    """The Lambda lane's retrieval: all the job's entries at once (:func:`pavi.aws.steps.retrieve_in_lambda`)."""
    logger.append_keys(job_id=event.state.get("job_id"))
    outcome = retrieve_in_lambda(event.state)
    metrics.add_metric(name="EntriesRetrievedInLambda", unit=MetricUnit.Count, value=outcome["entries"])
    logger.info("entries retrieved", extra=outcome)
    return outcome


@step_handler(StepEvent)
def prepare_alignment_input(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    """Alignment-input preparation (:func:`pavi.aws.steps.prepare_alignment`)."""
    logger.append_keys(job_id=event.state.get("job_id"))
    count_fallback("retrieval", lanes_taken(event.state))
    state = prepare_alignment(event.state, event.entered_at)
    metrics.add_metric(name="EntriesFailed", unit=MetricUnit.Count, value=state["counts"]["entries_failed"])
    logger.info("alignment input prepared", extra={"counts": state["counts"], "can_align": state["can_align"]})
    return state


@step_handler(StepEvent)
def align_proteins(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    """The Lambda lane's alignment, in the alignment image (:func:`pavi.aws.steps.align_in_lambda`)."""
    logger.append_keys(job_id=event.state.get("job_id"))
    outcome = align_in_lambda(event.state)
    metrics.add_metric(name="AlignmentsInLambda", unit=MetricUnit.Count, value=1)
    logger.info("proteins aligned")
    return outcome


@step_handler(StepEvent)
def collect_job_results(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    """Result collection (:func:`pavi.aws.steps.collect_results`)."""
    logger.append_keys(job_id=event.state.get("job_id"))
    count_fallback("alignment", alignment_lane(event.state), "alignment_")
    summary = collect_results(event.state, event.entered_at, event.inline_alignment_bytes)
    metrics.add_metric(name="JobsCompleted", unit=MetricUnit.Count, value=1)
    logger.info("results collected", extra={"counts": summary["counts"], "results": summary["results"]})
    return summary


@step_handler(StepEvent)
def record_job_failure(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    """Failure recording: the failed job's report (:func:`pavi.aws.steps.record_failure`)."""
    job_id = event.job_id or event.state.get("job_id")
    if not job_id:
        raise JobStateError("the failure event names no job (job_id)")
    logger.append_keys(job_id=job_id)
    count_fallback("alignment", alignment_lane(event.state), "alignment_")
    outcome = record_failure(event.state, job_store(), str(job_id), event.entered_at)
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    logger.warning("job failed", extra={"error": outcome["error"], "cause": outcome["cause"]})
    return outcome
