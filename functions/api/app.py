"""The client API, SPEC section 6's routes: :func:`pavi.aws.api.handler`."""

from pavi.aws.api import handler as lambda_handler

__all__ = ["lambda_handler"]
