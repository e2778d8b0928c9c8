"""The Lambda lane's alignment: :func:`pavi.aws.lambda_handlers.align_proteins`.

This function is a container image (the alignment Batch image, which has Clustal Omega):
``batch_images/alignment/Dockerfile`` copies this file to ``/var/task/app.py``.
"""

from pavi.aws.lambda_handlers import align_proteins as lambda_handler

__all__ = ["lambda_handler"]
