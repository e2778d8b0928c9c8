"""Alignment-input preparation (a thin adapter over :func:`pavi.pipeline.prepare_alignment`)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pavi.lambda_events import StepEvent, logger, metrics, step_handler
from pavi.pipeline import prepare_alignment


@step_handler(StepEvent)
def lambda_handler(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(job_id=event.state.get("job_id"))
    state = prepare_alignment(event.state, event.entered_at)
    metrics.add_metric(name="EntriesFailed", unit=MetricUnit.Count, value=state["counts"]["entries_failed"])
    logger.info("alignment input prepared", extra={"counts": state["counts"], "can_align": state["can_align"]})
    return state
