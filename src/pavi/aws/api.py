"""The client API (SPEC section 6), kept compatible with the existing PAVI web UI.

Powertools' REST event handler behind API Gateway (``functions/api``), and the same app
behind ``pavi serve`` locally. Jobs are Step Functions executions named by their uuid;
their status comes from ``DescribeExecution``, their results from the job bucket. No
database.

Configuration (environment): ``STATE_MACHINE_ARN``, ``PAVI_BUCKET``,
``PAVI_MAX_BODY_BYTES`` (default 1 MiB), ``PAVI_MAX_ENTRIES`` (default 500),
``PAVI_CORS_ORIGINS`` (comma-separated; default none), ``PAVI_FASTA_ALLOWLIST``,
``PAVI_INLINE_RESULT_BYTES`` (larger results answer with a redirect to a presigned URL),
``EXPRESS_STATE_MACHINE_ARN`` (the synchronous workflow, for ``Prefer: wait=N``).

Only light modules are imported here (no Biopython, numpy or pysam): the API's cold start
stays short.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from pavi.aws import api_docs
from pavi.aws.alignment_task import plan_alignment
from pavi.aws.job_requests import canonical_request, claim_key, digest, start_input
from pavi.aws.job_store import ALIGNMENT_FORMATS, EXTRA_RESULTS, MEDIA_TYPES, TEXT, JobPaths
from pavi.aws.joblog import execution_history, readable_log
from pavi.aws.lanes import lane_figures
from pavi.aws.steps import url_problems
from pavi.aws.sync_jobs import JobView, job_view, prefer_wait, run_synchronously
from pavi.domain.errors import EntryLimitError, JobSizeError, Problem, RequestValidationError
from pavi.domain.request import MAX_DEPTH, nesting_depth, parse_job, requested_aligner
from pavi.domain.url_policy import UrlPolicy

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "pavi")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_ENTRIES = 500
# A Lambda proxy response carries at most 6 MB; keep well under it.
DEFAULT_INLINE_RESULT = 4 * 1024 * 1024
PRESIGNED_SECONDS = 300
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
TSV = MEDIA_TYPES[".tsv"]
ENVELOPE = {"seq_regions", "aligner"}  # an object body's fields: the entries, and the aligner it may name
RESULTS = {  # the file names are the job store's (pavi.aws.job_store), served as they are
    "alignment": ALIGNMENT_FORMATS["clustal"],
    "seq-info": ("aligned_seq_info.json", MEDIA_TYPES[".json"]),
    "guide-tree": (EXTRA_RESULTS["guide_tree"], TEXT),
    "identity-matrix": (EXTRA_RESULTS["identity_matrix"], TSV),
    "variant-columns": (EXTRA_RESULTS["variant_columns"], TSV),
}
DRAWN = ("report", "picture")  # drawn on request by the picture function (pavi.aws.job_pictures)


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def cors_config() -> CORSConfig | None:
    origins = [o.strip() for o in os.environ.get("PAVI_CORS_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        return None
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=600)


app = APIGatewayRestResolver(cors=cors_config(), strip_prefixes=[])


@cache
def _clients() -> tuple[Any, Any]:
    import boto3

    return boto3.client("stepfunctions"), boto3.client("s3")


def reset() -> None:
    """Forget clients (tests and ``pavi serve`` switch endpoints)."""
    _clients.cache_clear()


def bucket() -> str:
    bucket = os.environ.get("PAVI_BUCKET", "").strip()
    if not bucket:
        raise RuntimeError("PAVI_BUCKET is not set")
    return bucket.removeprefix("s3://")


def _state_machine_arn() -> str:
    arn = os.environ.get("STATE_MACHINE_ARN", "").strip()
    if not arn:
        raise RuntimeError("STATE_MACHINE_ARN is not set")
    return arn


def _execution_arn(job_uuid: str) -> str:
    # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME -> arn:aws:states:REGION:ACCOUNT:execution:NAME:UUID
    prefix, name = _state_machine_arn().split(":stateMachine:", 1)
    return f"{prefix}:execution:{name}:{job_uuid}"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body), headers=headers
    )


def problem_response(status: int, message: str, problems: list[Problem]) -> Response[str]:
    return _json(status, {"detail": message, "problems": [p.to_dict() for p in problems]})


def _job(job_uuid: str, status: str) -> dict[str, str]:
    return {"uuid": job_uuid, "status": status, "name": f"pavi-job-{job_uuid}"}


def _view(job_uuid: str) -> JobView:
    """Where a job stands (:func:`pavi.aws.sync_jobs.job_view`), or 404. A job that exists is
    ``running`` until it ends: never ``pending``, which the web UI reads as a failed status
    fetch (issue 14, item 15)."""
    if not UUID.match(job_uuid):
        raise NotFoundError(f"no job {job_uuid}")
    sfn, s3 = _clients()
    view = job_view(sfn, s3, bucket, _execution_arn(job_uuid), job_uuid)
    if view is None:
        raise NotFoundError(f"no job {job_uuid}")
    return view


@app.get("/api/health")
def health() -> Response[str]:
    return _json(200, {"status": "up"})


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=api_docs.document_text())


@app.get("/api/docs")
@app.get("/docs")  # the previous web UI rewrites its /api/docs to the API's /docs (FastAPI's path)
def openapi_page() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=api_docs.page())


@app.post("/api/pipeline-job/")
def create_job() -> Response[str]:
    raw = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        import base64

        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    limit = _int_env("PAVI_MAX_BODY_BYTES", DEFAULT_MAX_BODY)
    if len(raw.encode()) > limit:
        return problem_response(413, f"the body is larger than {limit} bytes", [Problem(None, "", "body too large")])
    try:
        payload = json.loads(raw)
    except RecursionError:
        return problem_response(400, "the body nests too deeply", [Problem(None, "", f"more than {MAX_DEPTH} levels")])
    except ValueError as error:
        return problem_response(400, "the body is not JSON", [Problem(None, "", f"not JSON: {error}")])
    if nesting_depth(payload) > MAX_DEPTH:
        return problem_response(400, "the body nests too deeply", [Problem(None, "", f"more than {MAX_DEPTH} levels")])
    if isinstance(payload, dict) and "seq_regions" in payload and (extra := sorted(set(payload) - ENVELOPE)):
        # the lane (pavi run --lane) is the operator's choice, never a client's
        return problem_response(422, "invalid request", [Problem(None, key, "not a known field") for key in extra])
    try:
        requested = requested_aligner(payload)
        job = parse_job(payload, max_entries=_int_env("PAVI_MAX_ENTRIES", DEFAULT_MAX_ENTRIES))
    except EntryLimitError as error:
        return problem_response(413, "too many entries", error.problems)
    except JobSizeError as error:
        return problem_response(413, "the job is larger than a job may be", error.problems)
    except RequestValidationError as error:
        return problem_response(422, "invalid request", error.problems)
    try:  # the alignment task this job needs: more than this deployment gives is refused now (issue 29)
        plan_alignment(job, requested, lane_figures(job.seq_regions)["longest_protein"])
    except JobSizeError as error:
        return problem_response(413, "the job is larger than a job may be", error.problems)
    problems = url_problems(job, UrlPolicy.from_env())
    if problems:
        unresolved = all(p.message.startswith("cannot resolve host") for p in problems)
        return problem_response(
            422, "fasta_file_url's host does not resolve" if unresolved else "fasta_file_url not allowed", problems
        )
    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)  # case-insensitive in Powertools 3
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        problem = Problem(None, IDEMPOTENCY_HEADER, "1 to 255 printable ASCII characters (a UUID is best)")
        return problem_response(400, f"invalid {IDEMPOTENCY_HEADER}", [problem])
    # the job ID is claimed before anything runs (pavi.aws.job_requests): a key names one job of
    # one request; the execution's input is that request by reference, nothing else of the body
    body = canonical_request(payload)
    request_sha256 = digest(body)
    store = f"s3://{bucket()}"
    if key is None:
        job_uuid = str(uuid.uuid4())
    else:
        claimed, record = claim_key(store, _caller(), key, request_sha256)
        job_uuid = str(record["job_id"])
        if claimed == "taken":
            return _replay(job_uuid, str(record.get("request_sha256")), request_sha256)
    start = start_input(JobPaths(store, job_uuid), body)
    wait = prefer_wait(app.current_event.headers.get("Prefer"))
    express = os.environ.get("EXPRESS_STATE_MACHINE_ARN", "").strip()
    if wait is not None and express:
        return _run_and_wait(express, job_uuid, start, wait, len(job.seq_regions))
    sfn, _ = _clients()
    sfn.start_execution(stateMachineArn=_state_machine_arn(), name=job_uuid, input=json.dumps(start))
    logger.info("job started", extra={"job_id": job_uuid, "entries": len(job.seq_regions)})
    return _json(201, _job(job_uuid, "pending"))


def _run_and_wait(express: str, job_uuid: str, start: dict[str, Any], wait: int, entries: int) -> Response[str]:
    """``Prefer: wait=N``: the job through the Express workflow, answered with its outcome and
    links to every result when it ends within N seconds (``Preference-Applied``), else as running."""
    outcome = run_synchronously(express, job_uuid, start, wait)
    logger.info("job run synchronously", extra={"job_id": job_uuid, "entries": entries, "status": outcome["status"]})
    body: dict[str, Any] = _job(job_uuid, outcome["status"])
    if not outcome["waited"]:
        return _json(201, body)
    base = f"/api/pipeline-job/{job_uuid}"
    if outcome["status"] == "completed":
        body |= {k: outcome[k] for k in ("counts", "lanes") if k in outcome}
        body["results"] = {kind: f"{base}/result/{kind}" for kind in (*RESULTS, *DRAWN)}
    elif outcome.get("error"):
        body["error"] = {"error": outcome.get("error"), "cause": outcome.get("cause")}
    body["logs"] = f"{base}/logs"
    return _json(201, body, {"Preference-Applied": f"wait={wait}"})


def _replay(job_uuid: str, first_sha256: str, request_sha256: str) -> Response[str]:
    """The answer to a request whose idempotency key names a job already: that job (201,
    ``Idempotent-Replayed``) when it was started with the same request, however many copies
    arrive at once (one execution runs it), else 409."""
    if first_sha256 != request_sha256:
        problem = Problem(None, IDEMPOTENCY_HEADER, f"job {job_uuid} was started with this key and another body")
        return problem_response(409, f"{IDEMPOTENCY_HEADER} used already for another request", [problem])
    logger.info("job replayed", extra={"job_id": job_uuid})
    return _json(201, _job(job_uuid, "pending"), {"Idempotent-Replayed": "true"})


def _caller() -> str:
    """Who is calling, as API Gateway identified them: the API key's ID (``ApiAuth=API_KEY``) or the
    signer's ARN (``IAM``); empty for an anonymous caller (``NONE``), whose keys share one space."""
    context = app.current_event.request_context
    if context is None:
        return ""
    identity = context.identity
    return str(identity.api_key_id or identity.user_arn or identity.caller or "")


@app.get("/api/pipeline-job/<job_uuid>")
def get_job(job_uuid: str) -> Response[str]:
    view = _view(job_uuid)
    body = _job(job_uuid, view.status)
    return _json(200, {**body, "detail": view.detail} if view.detail else body)


def _read(key: str, inline: bool = True) -> bytes | None:
    """An object's bytes, or None when it is larger than the inline limit (or not ``inline``);
    FileNotFoundError if absent."""
    _, s3 = _clients()
    try:
        head = s3.head_object(Bucket=bucket(), Key=key)
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            raise FileNotFoundError(key) from error
        raise
    if not inline or int(head["ContentLength"]) > inline_limit():
        return None
    data: bytes = s3.get_object(Bucket=bucket(), Key=key)["Body"].read()
    return data


def inline_limit() -> int:
    """The largest result answered in the body (``PAVI_INLINE_RESULT_BYTES``); larger: a redirect."""
    return _int_env("PAVI_INLINE_RESULT_BYTES", DEFAULT_INLINE_RESULT)


def stored(key: str, content_type: str, inline: bool = True) -> Response[str]:
    """A stored result's answer: its text, or a redirect to a presigned URL when it is larger
    than the inline limit or not to be answered ``inline`` (a binary file: API Gateway passes
    text only, docs/decisions.md §31); FileNotFoundError if absent."""
    return answer(key, content_type, _read(key, inline))


def answer(key: str, content_type: str, data: bytes | None) -> Response[str]:
    """The answer for the stored object ``key``: ``data`` as text, or (None) a redirect to a
    presigned URL of it."""
    if data is None:
        _, s3 = _clients()
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket(), "Key": key}, ExpiresIn=PRESIGNED_SECONDS
        )
        return Response(status_code=302, content_type=content_types.TEXT_PLAIN, body="", headers={"Location": url})
    return Response(status_code=200, content_type=content_type, body=data.decode("utf-8"))


def completed(job_uuid: str, kind: str) -> None:
    """NotFoundError unless the job has completed (a running or failed job has no results)."""
    view = _view(job_uuid)
    if view.status != "completed":
        raise NotFoundError(f"job {job_uuid} has no {kind} result ({view.status})")


@app.get("/api/pipeline-job/<job_uuid>/result/<kind>")
def get_result(job_uuid: str, kind: str) -> Response[str]:
    if kind not in RESULTS:
        raise NotFoundError(f"no result {kind!r}: {', '.join(RESULTS)}")
    name, content_type = RESULTS[kind]
    wanted = (app.current_event.query_string_parameters or {}).get("format")
    if kind == "alignment" and wanted is not None:
        if wanted not in ALIGNMENT_FORMATS:
            problem = Problem(None, "format", f"{wanted!r} is not a format: {', '.join(ALIGNMENT_FORMATS)}")
            return problem_response(400, "unknown alignment format", [problem])
        name, content_type = ALIGNMENT_FORMATS[wanted]
    if kind == "variant-columns" and "application/json" in (app.current_event.headers.get("Accept") or ""):
        name, content_type = EXTRA_RESULTS["variant_columns_json"], MEDIA_TYPES[".json"]
    completed(job_uuid, kind)
    try:
        return stored(f"results/{job_uuid}/{name}", content_type)
    except FileNotFoundError as error:
        raise NotFoundError(f"job {job_uuid} has no {kind} result") from error


@app.get("/api/pipeline-job/<job_uuid>/logs")
def get_logs(job_uuid: str) -> Response[str]:
    view = _view(job_uuid)
    if view.status == "running":
        return _json(400, {"detail": f"job {job_uuid} is still running: logs once it ended"})
    sfn, _ = _clients()
    # a job that ended in the Express workflow has no execution history: its report tells all
    history = execution_history(sfn, view.execution["executionArn"]) if view.execution else []
    try:
        data = _read(f"results/{job_uuid}/job-report.json")
        report = json.loads(data) if data else None
    except FileNotFoundError:
        report = None
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=readable_log(history, report))


@app.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
def job_not_found(error: NotFoundError) -> Response[str]:
    return _json(404, {"detail": error.msg})


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(error: Exception) -> Response[str]:
    """Never a stack trace to the client; the log has it."""
    logger.exception("unexpected error")
    return _json(500, {"detail": "internal error; the API's log has the details"})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The API function's handler (``functions/api/app.py``): API Gateway proxy event in, response out."""
    response: dict[str, Any] = app.resolve(event, context)
    return response
