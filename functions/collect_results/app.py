"""Result collection (a thin adapter over :func:`pavi.pipeline.collect_results`)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pavi.lambda_events import StepEvent, logger, metrics, step_handler
from pavi.pipeline import collect_results


@step_handler(StepEvent)
def lambda_handler(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(job_id=event.state.get("job_id"))
    summary = collect_results(event.state, event.entered_at)
    metrics.add_metric(name="JobsCompleted", unit=MetricUnit.Count, value=1)
    logger.info("results collected", extra={"counts": summary["counts"], "results": summary["results"]})
    return summary
