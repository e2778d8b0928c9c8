"""Input validation, the state machine's first step: :func:`pavi.aws.lambda_handlers.validate_input`."""

from pavi.aws.lambda_handlers import validate_input as lambda_handler

__all__ = ["lambda_handler"]
