"""The Lambda lane's retrieval: :func:`pavi.aws.lambda_handlers.retrieve_entries`."""

from pavi.aws.lambda_handlers import retrieve_entries as lambda_handler

__all__ = ["lambda_handler"]
