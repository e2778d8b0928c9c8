"""`pavi serve` end to end over real HTTP, as the web UI uses it: the API key the deployment's
``ApiAuth`` asks for, jobs run behind it, and many clients at once (issue 14, items 4 and 8)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.demo import demo_entries
from support.serve import Served, pavi_serve


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with pavi_serve() as running:
        yield running


def wait_for(served: Served, job: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, data, _ = served.request(f"/api/pipeline-job/{job}")
        assert status == 200
        state: str = json.loads(data)["status"]
        assert state in {"running", "completed", "failed"}  # never pending (issue 14, item 15)
        if state in {"completed", "failed"}:
            return state
        time.sleep(0.3)
    raise TimeoutError(job)


def test_pavi_serve_runs_jobs_behind_the_api(
    served: Served, genbank_payload: list[dict[str, Any]], conformance: Path
) -> None:
    status, data, _ = served.request("/api/health")
    assert status == 200 and json.loads(data) == {"status": "up"}
    entries = genbank_payload[:8]
    status, data, _ = served.request("/api/pipeline-job/", "POST", entries)
    assert status == 201, data
    job = json.loads(data)["uuid"]
    assert wait_for(served, job) == "completed"
    status, aln, _ = served.request(f"/api/pipeline-job/{job}/result/alignment")
    assert status == 200 and aln.startswith(b"CLUSTAL O(1.2.4) multiple sequence alignment")
    status, info, _ = served.request(f"/api/pipeline-job/{job}/result/seq-info")
    assert status == 200 and {e["base_seq_name"] for e in entries} <= set(json.loads(info))
    status, logs, _ = served.request(f"/api/pipeline-job/{job}/logs")
    assert status == 200 and b"retrieval (Lambda lane): done" in logs and b"job completed" in logs

    failure = json.loads((conformance / "pavi-upstream" / "api-payload-failure.json").read_text())
    for entry in failure:
        entry["fasta_file_url"] = entries[0]["fasta_file_url"]
    status, data, _ = served.request("/api/pipeline-job/", "POST", failure)
    assert status == 201
    failed = json.loads(data)["uuid"]
    assert wait_for(served, failed) == "failed"
    assert served.request(f"/api/pipeline-job/{failed}/result/alignment")[0] == 404
    status, logs, _ = served.request(f"/api/pipeline-job/{failed}/logs")
    assert status == 200 and b"C54H2.5.1" in logs
    assert served.request("/api/pipeline-job/", "POST", [{"nothing": 1}])[0] == 422


def test_without_the_api_key_every_call_is_refused_but_docs_and_preflights(served: Served) -> None:
    """ApiAuth defaults to API_KEY (issue 14, item 4); the local server enforces it as API Gateway does."""
    for path, method in [("/api/health", "GET"), ("/api/pipeline-job/", "POST"), ("/api/pipeline-job/x", "GET")]:
        status, data, _ = served.request(path, method, demo_entries() if method == "POST" else None, key=False)
        assert (status, json.loads(data)) == (403, {"message": "Forbidden"}), path
        status, _, _ = served.request(path, method, key=False, headers={"x-api-key": served.api_key + "x"})
        assert status == 403
    assert served.request("/openapi.json", key=False)[0] == 200
    assert served.request("/api/docs", key=False)[0] == 200
    assert served.request("/api/pipeline-job/", "OPTIONS", key=False)[0] != 403


@pytest.fixture
def quick_served() -> Iterator[Served]:
    """The server with its Batch jobs as calls in its own process: what is under test is the
    API's side (connections, handlers, job creation), not the containers."""
    with pavi_serve({"PAVI_LOCAL_BATCH": "in-process"}) as running:
        yield running


def test_one_hundred_simultaneous_submissions_all_answer_201_and_complete(quick_served: Served) -> None:
    """No connection reset, no lost job (issue 14, item 8): every client learns its job's ID and
    every job completes."""
    served = quick_served
    entries = demo_entries()[:1]

    def submit(n: int) -> tuple[int, bytes]:
        status, data, _ = served.request("/api/pipeline-job/", "POST", entries, timeout=120)
        return status, data

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(submit, range(100)))
    assert [status for status, _ in answers] == [201] * 100, [a for a in answers if a[0] != 201][:3]
    jobs = {json.loads(data)["uuid"] for _, data in answers}
    assert len(jobs) == 100
    deadline = time.monotonic() + 420
    pending = sorted(jobs)
    while pending and time.monotonic() < deadline:
        # the oldest unfinished job first; the others only once it is done (few status calls)
        status, data, _ = served.request(f"/api/pipeline-job/{pending[0]}")
        assert status == 200
        state = json.loads(data)["status"]
        assert state in {"running", "completed"}, (pending[0], state)
        if state == "completed":
            pending.pop(0)
        else:
            time.sleep(1)
    assert not pending, f"{len(pending)} of 100 jobs did not complete"


def raw_exchange(served: Served, head: str, send_key: bool = True, timeout: float = 10) -> bytes:
    """One request written by hand (headers no client library would send), its answer read whole."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(served.url)
    key = f"x-api-key: {served.api_key}\r\n" if send_key else ""
    with socket.create_connection((where.hostname, where.port), timeout=timeout) as connection:
        connection.sendall(f"{head}\r\nHost: {where.netloc}\r\n{key}\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("length", "status"),
    [("-1", b"400"), ("abc", b"400"), (str(10**14), b"413"), (str(11 * 1024 * 1024), b"413")],
)
def test_a_body_length_it_cannot_take_is_answered_before_any_body_is_read(
    served: Served, length: str, status: bytes
) -> None:
    """Issue 20, item 15: -1 hung, abc dropped the connection with a traceback, 10^14 raised
    MemoryError. Each is answered at once (no body is ever sent here) and the connection closed."""
    started = time.monotonic()
    answer = raw_exchange(served, f"POST /api/pipeline-job/ HTTP/1.1\r\nContent-Length: {length}")
    assert answer.split(b" ", 2)[1] == status, answer
    assert time.monotonic() - started < 5


def test_the_api_key_is_checked_before_the_body_is_read(served: Served) -> None:
    answer = raw_exchange(served, "POST /api/pipeline-job/ HTTP/1.1\r\nContent-Length: 1000000", send_key=False)
    assert answer.startswith(b"HTTP/1.1 403") and b"Forbidden" in answer


def test_a_jobs_page_and_picture_are_drawn_on_first_request_by_their_own_function(served: Served) -> None:
    """Issue 31: the report and picture routes go to the picture function (the template's
    integration), which draws on the first request, keeps what it drew, and answers the PNG with a
    presigned URL; the same bytes come back the second time."""
    status, data, _ = served.request("/api/pipeline-job/", "POST", demo_entries())
    assert status == 201
    job = json.loads(data)["uuid"]
    assert wait_for(served, job) == "completed"
    base = f"/api/pipeline-job/{job}/result"
    status, page, headers = served.request(f"{base}/report")
    assert status == 200 and headers["Content-Type"].startswith("text/html"), page[:300]
    assert f"<h1>PAVI job {job}: completed</h1>".encode() in page and b'<div id="picture"><svg' in page
    assert served.request(f"{base}/report")[1] == page  # kept: the same bytes
    status, svg, headers = served.request(f"{base}/picture")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and b"p.Phe57Ser" in svg
    status, png, headers = served.request(f"{base}/picture?format=png&scheme=Identity")  # the redirect followed
    assert status == 200 and png.startswith(b"\x89PNG\r\n\x1a\n"), (status, png[:200])
    for query, field in (("format=gif", "format"), ("scheme=Rainbow", "scheme")):
        status, data, _ = served.request(f"{base}/picture?{query}")
        assert status == 400 and json.loads(data)["problems"][0]["field"] == field, data
    status, data, _ = served.request("/api/pipeline-job/00000000-0000-4000-8000-000000000000/result/report")
    assert status == 404 and b"no job" in data
    assert served.request(f"{base}/report", key=False)[0] == 403  # the API key, as on every other route
    log = Path(served.log).read_text()
    assert "Traceback" not in log
