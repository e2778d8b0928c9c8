"""A job's page and picture through the API (issue 31), served by their own function
(``PictureFunction``: matplotlib and pymsaviz in its layer, and the memory to draw, so that the
API's function stays small and starts fast):

- ``GET /api/pipeline-job/{uuid}/result/report[?scheme=Clustal|Identity]``: ``report.html``;
- ``GET /api/pipeline-job/{uuid}/result/picture[?format=svg|png][&scheme=...]``: the picture.

Each is drawn on its first request (:func:`pavi.domain.job_page.render`) and kept beside the
job's results (``results/{job}/report.html``, ``alignment.svg``, ``alignment.png``; ``-identity``
in their names for the Identity scheme), so that a job whose picture nobody asks for costs
nothing: drawing costs tens of times the collection's own views (``benchmarks/job_page.py``).
A picture is drawn for at most :data:`pavi.domain.picture.PICTURE_CELLS`, within API Gateway's
29 s; past it the picture route answers 404 and the page shows the alignment as text.

Text answers come inline up to the API's inline limit; a PNG, and anything larger, is a redirect
to a presigned URL of the stored file (API Gateway passes binary answers only with
``binaryMediaTypes``, which would change how it passes every other call: docs/decisions.md §31).
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from pavi.aws import api
from pavi.aws.job_store import MEDIA_TYPES
from pavi.domain import storage
from pavi.domain.errors import Problem
from pavi.domain.job_page import page_inputs, page_name, render
from pavi.domain.picture import FORMATS, PICTURE_CELLS, SCHEMES, picture_name

app = APIGatewayRestResolver(cors=api.cors_config(), strip_prefixes=[])
app.exception_handler(NotFoundError)(api.job_not_found)
app.exception_handler(Exception)(api.unexpected)


def _choice(name: str, allowed: tuple[str, ...]) -> str | Response[str]:
    """A query parameter's value (the first of ``allowed`` when absent), or the 400 answer."""
    value = (app.current_event.query_string_parameters or {}).get(name, allowed[0])
    if value in allowed:
        return value
    problem = Problem(None, name, f"{value!r} is not one of {', '.join(allowed)}")
    return api.problem_response(400, f"unknown {name}", [problem])


@app.get("/api/pipeline-job/<job_uuid>/result/report")
def get_report(job_uuid: str) -> Response[str]:
    scheme = _choice("scheme", SCHEMES)
    if isinstance(scheme, Response):
        return scheme
    return _drawn(job_uuid, "report", page_name(scheme), scheme, ())


@app.get("/api/pipeline-job/<job_uuid>/result/picture")
def get_picture(job_uuid: str) -> Response[str]:
    fmt, scheme = _choice("format", FORMATS), _choice("scheme", SCHEMES)
    for answer in (fmt, scheme):
        if isinstance(answer, Response):
            return answer
    assert isinstance(fmt, str) and isinstance(scheme, str)
    return _drawn(job_uuid, "picture", picture_name(fmt, scheme), scheme, (fmt,))


def _drawn(job_uuid: str, kind: str, name: str, scheme: str, formats: tuple[str, ...]) -> Response[str]:
    """The stored file ``name`` of a completed job, drawn (with what else its drawing gives) first
    when it is not there yet."""
    api.completed(job_uuid, kind)
    key = f"results/{job_uuid}/{name}"
    content_type = MEDIA_TYPES[PurePosixPath(name).suffix]
    inline = not name.endswith(".png")
    try:
        return api.stored(key, content_type, inline)
    except FileNotFoundError:
        pass
    folder = f"s3://{api.bucket()}/results/{job_uuid}"
    began = time.perf_counter()
    drawn = render(page_inputs(folder), scheme, formats, page_too=kind == "report")
    for drawn_name, data in drawn.items():
        storage.write_bytes(f"{folder}/{drawn_name}", data, MEDIA_TYPES[PurePosixPath(drawn_name).suffix])
    api.logger.info("drawn", extra={"job_id": job_uuid, "files": sorted(drawn), "seconds": time.perf_counter() - began})
    if name not in drawn:
        raise NotFoundError(
            f"job {job_uuid} has no picture: it is drawn up to {PICTURE_CELLS:,} cells (sequences x columns); "
            "its page (result/report) shows the alignment"
        )
    data = drawn[name]  # answered from what was drawn, not read back from the bucket
    return api.answer(key, content_type, data if inline and len(data) <= api.inline_limit() else None)


@api.logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The picture function's handler (``functions/pictures/app.py``)."""
    response: dict[str, Any] = app.resolve(event, context)
    return response
