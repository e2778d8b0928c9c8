"""Answers of the AWS APIs the local stack serves itself, in the form botocore's
``before-call`` hooks return them: ``(http response, parsed response)``."""

from __future__ import annotations

import uuid
from typing import Any


class HttpAnswer:
    """The HTTP side of an answer (botocore reads ``status_code``, ``headers``, ``content``)."""

    def __init__(self, status_code: int):
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}, "RetryAttempts": 0}


def client_error(status: int, code: str, message: str) -> tuple[HttpAnswer, dict[str, Any]]:
    return HttpAnswer(status), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata(status)}


def answer(body: dict[str, Any]) -> tuple[HttpAnswer, dict[str, Any]]:
    """A 200 with ``body``."""
    return HttpAnswer(200), {**body, "ResponseMetadata": metadata(200)}
