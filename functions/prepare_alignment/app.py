"""Alignment-input preparation: :func:`pavi.aws.lambda_handlers.prepare_alignment_input`."""

from pavi.aws.lambda_handlers import prepare_alignment_input as lambda_handler

__all__ = ["lambda_handler"]
