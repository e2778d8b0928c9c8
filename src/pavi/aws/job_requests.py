"""A job's request on its way into a state machine: inline when small, by reference to the
job store (``work/{job}/request.json``) when not, as an execution's input is capped at 256 KB;
and the reference the Express workflow hands to the Standard one."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pavi.aws.job_store import JobPaths, read_json
from pavi.domain import storage
from pavi.domain.errors import Problem, RequestValidationError

# An execution's input is capped at 256 KB: larger requests are written to the job store
# (work/{job_id}/request.json) and the execution gets {"request_uri": ...}.
INLINE_REQUEST_LIMIT = 200_000


def execution_input(payload: Any, paths: JobPaths, write: bool = True) -> dict[str, Any]:
    """The state machine input for a request: inline when small, else a reference to it in
    the job store (written here unless ``write`` is false), as an execution's input is capped
    at 256 KB."""
    if len(json.dumps(payload).encode()) <= INLINE_REQUEST_LIMIT:
        return payload if isinstance(payload, dict) else {"seq_regions": payload}
    reference: dict[str, Any] = request_reference(payload, paths, write)
    if isinstance(payload, dict) and "lane" in payload:
        reference["lane"] = payload["lane"]  # the lane asked for stays beside the reference
    return reference


def request_reference(payload: Any, paths: JobPaths, write: bool = True) -> dict[str, str]:
    """``work/{job}/request.json`` (written unless ``write`` is false) and the body's digest,
    which tells a retried request from another one with the same idempotency key."""
    body = json.dumps(payload)
    if write:
        storage.write_text(paths.request, body, "application/json")
    return {"request_uri": paths.request, "request_sha256": hashlib.sha256(body.encode()).hexdigest()}


def load_request(execution_input: Any, store: str) -> Any:
    """The request of an execution: inline (``{"seq_regions": [...]}`` or a list), or
    ``{"request_uri": ...}`` naming a JSON file in the job store's ``work/`` (the API
    writes large requests there, as an execution's input is capped at 256 KB)."""
    if isinstance(execution_input, dict) and "request_uri" in execution_input:
        uri = str(execution_input["request_uri"])
        if not uri.startswith(storage.join(store, "work/")):
            raise RequestValidationError([Problem(None, "request_uri", f"{uri} is not inside this job store's work/")])
        try:
            return read_json(uri)
        except FileNotFoundError as error:
            raise RequestValidationError([Problem(None, "request_uri", f"{uri} does not exist")]) from error
        except ValueError as error:
            raise RequestValidationError([Problem(None, "request_uri", f"{uri} is not JSON: {error}")]) from error
    return execution_input


def request_reference_of(execution_input: Any, paths: JobPaths) -> dict[str, str]:
    """The request's reference in the job store, writing it there unless the input is one."""
    if isinstance(execution_input, dict) and "request_uri" in execution_input:
        uri = str(execution_input["request_uri"])
        digest = execution_input.get("request_sha256") or hashlib.sha256(storage.read_text(uri).encode()).hexdigest()
        return {"request_uri": uri, "request_sha256": str(digest)}
    payload = execution_input
    if isinstance(payload, dict) and "lane" in payload:  # the lane is the operator's, not the request's
        payload = {k: v for k, v in payload.items() if k != "lane"}
    return request_reference(payload, paths)
