"""A job's page and picture, drawn on first request: :func:`pavi.aws.job_pictures.handler`."""

from pavi.aws.job_pictures import handler as lambda_handler

__all__ = ["lambda_handler"]
