"""Result collection: :func:`pavi.aws.lambda_handlers.collect_job_results`."""

from pavi.aws.lambda_handlers import collect_job_results as lambda_handler

__all__ = ["lambda_handler"]
