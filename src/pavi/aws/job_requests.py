"""A job's request on its way into a state machine, and its job ID claimed once, before anything of
the job runs (issue 27, item 2).

Three objects of the job store, each created with a conditional write (``If-None-Match: *``:
S3 creates the object only when the key does not exist, and answers 412 otherwise; of two
writers at once exactly one wins, see :func:`pavi.domain.storage.write_once`):

- ``work/idempotency/{digest}.json``, the API's: an ``Idempotency-Key`` of one caller
  (``digest`` is the SHA-256 of the caller's identity and the key) names one job ID, chosen at
  random, and the digest of one request. The job ID cannot be computed from the key, so no other
  caller can find the job by guessing it; a key that comes back after ``work/`` has expired starts
  a new job under a new ID, never over kept results.
- ``work/{job}/request.json``: the job's request (``{"seq_regions": [...]}``, canonical JSON),
  written by the API before it starts an execution, or by the validation of an execution an
  operator started with the entries inline. The execution's input names it by reference, with
  its digest.
- ``work/{job}/execution.json``: the one execution that runs the job (its ARN), written by the
  validation before it reads or writes anything else of the job. A second execution under the same
  name (Express does not refuse reused names, and Standard's uniqueness lasts 90 days) fails
  with :class:`JobIdClaimed` and touches nothing: the state machines send that error to a Fail
  state without the failure recording. The Express workflow names, in its claim, the one Standard
  execution it may hand the job to (the Standard machine's execution of the same name).

A job whose report exists is another job's, whatever ``work/`` still holds.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from pavi.aws.job_store import JobPaths, read_json
from pavi.domain import storage
from pavi.domain.errors import PaviError, Problem, RequestValidationError
from pavi.domain.request import unwrap_payload

KEYS_FOLDER = "work/idempotency"


class JobIdClaimed(PaviError):
    """The job ID belongs to another request or execution: this execution touches nothing of it."""


def canonical_request(payload: Any) -> bytes:
    """The request as the job store keeps it: ``{"seq_regions": [...]}`` (and its ``aligner``) in
    canonical JSON, so a bare list and the same list in an object are one request."""
    body: dict[str, Any] = {"seq_regions": unwrap_payload(payload)}
    if isinstance(payload, dict) and "seq_regions" in payload and "aligner" in payload:
        body["aligner"] = payload["aligner"]  # the request's own choice (issue 29)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_record_location(store: str, caller: str, key: str) -> str:
    """Where an idempotency key's record is: the caller's identity and the key, hashed."""
    return storage.join(store, f"{KEYS_FOLDER}/{digest(f'{caller}\n{key}'.encode())}.json")


def claim_key(store: str, caller: str, key: str, request_sha256: str) -> tuple[str, dict[str, Any]]:
    """Claim an idempotency key for a request: ``("new", record)`` when this call claimed it
    (``record["job_id"]`` is a new random job ID), else ``("taken", record)``: the record the key
    already holds (the same job when ``record["request_sha256"]`` is this request's)."""
    location = key_record_location(store, caller, key)
    record = {"job_id": str(uuid.uuid4()), "request_sha256": request_sha256}
    if storage.write_once(location, json.dumps(record).encode()):
        return "new", record
    return "taken", read_json(location)


def claim_request(paths: JobPaths, body: bytes) -> None:
    """Write the job's request (``body``, canonical) unless the job ID has one already, which must
    then be this same request (a retry); else raise :class:`JobIdClaimed`."""
    if not storage.write_once(paths.request, body) and storage.read_bytes(paths.request) != body:
        raise JobIdClaimed(f"job ID {paths.job_id} holds another request: start this job under another name")


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    """The ARN of a Standard machine's execution named ``name``."""
    prefix, machine = state_machine_arn.split(":stateMachine:", 1)
    return f"{prefix}:execution:{machine}:{name}"


def claim_execution(paths: JobPaths, execution_id: str, hands_off_to: str | None = None) -> None:
    """Make ``execution_id`` the one execution of the job, or raise :class:`JobIdClaimed`.

    The claim is this execution's when it wrote it, or wrote it before (a retried validation),
    or when the execution that wrote it named this one as the Standard execution it hands the job
    to. ``hands_off_to``: the Standard state machine this (Express) execution may hand the job to."""
    claim: dict[str, Any] = {"execution": execution_id}
    if hands_off_to:
        claim["hands_off_to"] = execution_arn_of(hands_off_to, paths.job_id)
    location = storage.join(paths.work, "execution.json")
    if not storage.write_once(location, json.dumps(claim).encode()):
        held = read_json(location)
        if execution_id not in {held.get("execution"), held.get("hands_off_to")}:
            raise JobIdClaimed(
                f"job ID {paths.job_id} is run by another execution ({held.get('execution')}): "
                "start this one under another name; the other job is untouched"
            )
    try:
        storage.read_bytes(storage.join(paths.results, "job-report.json"))
    except FileNotFoundError:
        return
    raise JobIdClaimed(f"job ID {paths.job_id} has results already: start this job under another name")


def by_reference(execution_input: Any) -> bool:
    """Does the execution's input name a kept request (``{"request_uri": ...}``)?"""
    return isinstance(execution_input, dict) and "request_uri" in execution_input


def kept_request(execution_input: dict[str, Any], paths: JobPaths) -> Any:
    """The request an execution's input names by reference (the API's, the Express workflow's
    hand-off): ``{"request_uri", "request_sha256"}`` naming this job's own
    ``work/{job}/request.json`` and nothing else, with the digest of its bytes."""
    uri = str(execution_input["request_uri"])
    if uri != paths.request:
        raise RequestValidationError(
            [Problem(None, "request_uri", f"{uri} is not this job's request ({paths.request})")]
        )
    try:
        data = storage.read_bytes(uri)
    except FileNotFoundError as error:
        raise RequestValidationError([Problem(None, "request_uri", f"{uri} does not exist")]) from error
    wanted = execution_input.get("request_sha256")
    if wanted is not None and wanted != digest(data):
        raise RequestValidationError(
            [Problem(None, "request_sha256", f"{uri} is not the request this execution was started with")]
        )
    try:
        return json.loads(data)
    except ValueError as error:
        raise RequestValidationError([Problem(None, "request_uri", f"{uri} is not JSON: {error}")]) from error


def reference(paths: JobPaths, body: bytes) -> dict[str, str]:
    """An execution's input naming the job's kept request."""
    return {"request_uri": paths.request, "request_sha256": digest(body)}


def start_input(paths: JobPaths, body: bytes, lane: str | None = None) -> dict[str, Any]:
    """Claim the job ID for a request (``body``: :func:`canonical_request`) and return the input of
    the execution that runs it: the request by reference (:func:`reference`), and an operator's
    ``lane`` beside it (``pavi run --lane``; the API never passes one: it refuses the field).
    Raises :class:`JobIdClaimed` when the job ID holds another request."""
    claim_request(paths, body)
    start: dict[str, Any] = reference(paths, body)
    if lane:
        start["lane"] = lane
    return start


def operator_lane(payload: Any) -> str | None:
    """The lane an operator's payload asks for (``{"seq_regions": [...], "lane": ...}``), or None."""
    return payload.get("lane") if isinstance(payload, dict) and "seq_regions" in payload else None
