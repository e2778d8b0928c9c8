"""The client API: SPEC section 6's routes (a thin adapter over :mod:`pavi.api`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pavi.api import app, logger


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = app.resolve(event, context)
    return response
