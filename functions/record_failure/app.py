"""Failure recording, the failed job's report: :func:`pavi.aws.lambda_handlers.record_job_failure`."""

from pavi.aws.lambda_handlers import record_job_failure as lambda_handler

__all__ = ["lambda_handler"]
