"""Failure recording: the failed job's report (a thin adapter over :func:`pavi.pipeline.record_failure`)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pavi.lambda_events import StepEvent, job_store, logger, metrics, step_handler
from pavi.pipeline import JobStateError, record_failure


@step_handler(StepEvent)
def lambda_handler(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    job_id = event.job_id or event.state.get("job_id")
    if not job_id:
        raise JobStateError("the failure event names no job (job_id)")
    logger.append_keys(job_id=job_id)
    outcome = record_failure(event.state, job_store(), str(job_id), event.entered_at)
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    logger.warning("job failed", extra={"error": outcome["error"], "cause": outcome["cause"]})
    return outcome
