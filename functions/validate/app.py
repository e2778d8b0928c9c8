"""Input validation: the state machine's first step (a thin adapter over :func:`pavi.pipeline.validate_job`)."""

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pavi.lambda_events import ValidateEvent, job_store, logger, metrics, step_handler
from pavi.pipeline import DEFAULT_CONCURRENCY, validate_job


@step_handler(ValidateEvent)
def lambda_handler(event: ValidateEvent, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(job_id=event.job_id)
    concurrency = int(os.environ.get("PAVI_MAX_CONCURRENCY") or DEFAULT_CONCURRENCY)
    state = validate_job(event.input, event.job_id, job_store(), event.started_at, max_concurrency=concurrency)
    metrics.add_metric(name="JobEntries", unit=MetricUnit.Count, value=state["entry_count"])
    logger.info("request valid", extra={"entries": state["entry_count"]})
    return state
