"""Contract tests of every route (SPEC section 6) against the API handler, with the state
machine executing under moto (pavi.local.stack.EmulatedStack) and S3 in the same moto server."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.demo import demo_entries
from support.lambdas import header

from pavi.aws import api
from pavi.local.serve import proxy_event
from pavi.local.stack import EmulatedStack

REPO = Path(__file__).resolve().parents[2]
OPENAPI = yaml.safe_load((REPO / "api" / "openapi.yaml").read_text())

Call = Callable[..., dict[str, Any]]


def documented(method: str, path: str, status: int) -> bool:
    """Is ``status`` an answer api/openapi.yaml documents for this route?"""
    path = path.split("?")[0]
    for template, operations in OPENAPI["paths"].items():
        pattern = "^" + "[^/]+".join(template.rstrip("/").split("{uuid}")) + "/?$"
        if re.match(pattern, path) and method.lower() in operations:
            return str(status) in operations[method.lower()]["responses"]
    return status == 404  # an unknown route


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path / "logs") as local:
        monkeypatch.setenv("STATE_MACHINE_ARN", local.state_machine_arn)
        api.reset()
        yield local
    api.reset()


@pytest.fixture
def call(stack: EmulatedStack) -> Call:
    """A request through the API function as API Gateway makes it: the function's own process,
    environment and role (its permissions enforced)."""

    def request(method: str, path: str, body: Any = None, raw: bytes | None = None) -> dict[str, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        answer: dict[str, Any] = stack.invoke(
            "ApiFunction", proxy_event(method, path, data, {"content-type": "application/json"})
        )
        assert documented(method, path, answer["statusCode"]), (method, path, answer["statusCode"])
        assert "Traceback" not in (answer.get("body") or "")
        return answer

    return request


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def wait_until_ended(call: Call, job: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: str = body(call("GET", f"/api/pipeline-job/{job}"))["status"]
        if status in {"completed", "failed"}:
            return status
        time.sleep(0.1)
    raise TimeoutError(job)


def test_health(call: Call) -> None:
    answer = call("GET", "/api/health")
    assert answer["statusCode"] == 200 and body(answer) == {"status": "up"}


def test_a_job_from_submission_to_results_and_logs(call: Call, stack: EmulatedStack) -> None:
    created = call("POST", "/api/pipeline-job/", demo_entries())
    assert created["statusCode"] == 201
    job = body(created)
    assert job["status"] == "pending" and job["name"] == f"pavi-job-{job['uuid']}" and uuid.UUID(job["uuid"])
    assert wait_until_ended(call, job["uuid"]) == "completed"
    alignment = call("GET", f"/api/pipeline-job/{job['uuid']}/result/alignment")
    assert alignment["statusCode"] == 200 and alignment["body"].startswith("CLUSTAL O(1.2.4)")
    assert header(alignment, "Content-Type").startswith("text/plain")
    assert alignment["body"].encode() == stack.read(f"results/{job['uuid']}/alignment-output.aln")
    info = call("GET", f"/api/pipeline-job/{job['uuid']}/result/seq-info")
    assert info["statusCode"] == 200 and "HLA-A_01-01-01-01_demo-variants" in body(info)
    logs = call("GET", f"/api/pipeline-job/{job['uuid']}/logs")
    assert logs["statusCode"] == 200
    assert "retrieval (Lambda lane): done" in logs["body"] and "status: completed" in logs["body"]
    # issue 21: the alignment in other formats, the identity matrix, the variant position table
    results = f"/api/pipeline-job/{job['uuid']}/result"
    for fmt, start in (
        ("fasta", ">"),
        ("stockholm", "# STOCKHOLM 1.0"),
        ("msf", "!!AA_MULTIPLE_ALIGNMENT"),
        ("nexus", "#NEXUS"),
    ):
        answer = call("GET", f"{results}/alignment?format={fmt}")
        assert answer["statusCode"] == 200 and answer["body"].startswith(start), (fmt, answer["body"][:80])
    assert call("GET", f"{results}/alignment?format=clustal")["body"] == alignment["body"]
    unknown = call("GET", f"{results}/alignment?format=pdf")
    assert (
        unknown["statusCode"] == 400
        and "fasta, stockholm, phylip, msf, nexus" in body(unknown)["problems"][0]["message"]
    )
    tree = call("GET", f"{results}/guide-tree")
    assert tree["statusCode"] == 200 and tree["body"].rstrip().endswith(";")
    matrix = call("GET", f"{results}/identity-matrix")
    assert matrix["statusCode"] == 200 and header(matrix, "Content-Type").startswith("text/tab-separated-values")
    table = call("GET", f"{results}/variant-columns")
    assert table["body"].startswith("variant_id\tsequence_name\talignment_start_pos")
    as_json = stack.invoke(
        "ApiFunction",
        proxy_event("GET", f"{results}/variant-columns", None, {"Accept": "application/json"}),
    )
    rows = json.loads(as_json["body"])["rows"]
    assert len(rows) == len(table["body"].splitlines()) - 1 > 0
    report = json.loads(stack.read(f"results/{job['uuid']}/job-report.json"))
    assert report["results"]["variant_columns"].endswith("variant-columns.tsv")


def test_the_seq_regions_form_is_accepted_too(call: Call) -> None:
    created = call("POST", "/api/pipeline-job", {"seq_regions": demo_entries()})
    assert created["statusCode"] == 201
    assert wait_until_ended(call, body(created)["uuid"]) == "completed"


def test_a_running_job_has_no_results_and_no_logs_yet(call: Call, stack: EmulatedStack) -> None:
    """The job is held in its retrieval (the demo takes the Lambda lane: its retrieval function
    waits) while the test looks at it; the test checks the hold was reached (issue 27, item 6)."""
    release = threading.Event()
    stack.faults.hold["RetrieveFunction"] = release
    job = body(call("POST", "/api/pipeline-job/", demo_entries()))["uuid"]
    try:
        deadline = time.monotonic() + 60
        while "RetrieveFunction" not in stack.faults.held:
            assert time.monotonic() < deadline, "the job never reached its retrieval"
            time.sleep(0.05)
        assert body(call("GET", f"/api/pipeline-job/{job}"))["status"] == "running"
        assert call("GET", f"/api/pipeline-job/{job}/result/alignment")["statusCode"] == 404
        assert call("GET", f"/api/pipeline-job/{job}/result/seq-info")["statusCode"] == 404
        logs = call("GET", f"/api/pipeline-job/{job}/logs")
        assert logs["statusCode"] == 400 and "still running" in body(logs)["detail"]
    finally:
        release.set()
    assert wait_until_ended(call, job) == "completed"


def test_the_upstream_failure_payload_ends_failed_with_no_alignment(call: Call, conformance: Path) -> None:
    entries = json.loads((conformance / "pavi-upstream" / "api-payload-failure.json").read_text())
    for entry in entries:
        entry["fasta_file_url"] = demo_entries()[0]["fasta_file_url"]
    job = body(call("POST", "/api/pipeline-job/", entries))["uuid"]
    assert wait_until_ended(call, job) == "failed"
    assert call("GET", f"/api/pipeline-job/{job}/result/alignment")["statusCode"] == 404
    logs = call("GET", f"/api/pipeline-job/{job}/logs")["body"]
    assert "C54H2.5.1" in logs and "FAILURE_TEST_SEQ_ID" in logs and "status: failed" in logs


def test_unknown_jobs_and_routes_are_404(call: Call) -> None:
    unknown = str(uuid.uuid4())
    for path in (
        f"/api/pipeline-job/{unknown}",
        f"/api/pipeline-job/{unknown}/result/alignment",
        f"/api/pipeline-job/{unknown}/result/seq-info",
        f"/api/pipeline-job/{unknown}/logs",
        "/api/pipeline-job/not-a-uuid",
        "/api/nothing-here",
    ):
        answer = call("GET", path)
        assert answer["statusCode"] == 404, path
        assert "detail" in body(answer)


def test_invalid_bodies_are_4xx_with_every_problem(call: Call, conformance: Path) -> None:
    invalid = json.loads((conformance / "pavi-upstream" / "api-payload-invalid.json").read_text())
    answer = call("POST", "/api/pipeline-job/", invalid)
    assert answer["statusCode"] == 422
    fields = {(p["entry_index"], p["field"]) for p in body(answer)["problems"]}
    assert {(0, "unique_entry_id"), (0, "fasta_file_url"), (1, "unique_entry_id"), (1, "base_seq_name")} <= fields
    assert call("POST", "/api/pipeline-job/", raw=b"{not json")["statusCode"] == 400
    assert call("POST", "/api/pipeline-job/", [])["statusCode"] == 422
    assert call("POST", "/api/pipeline-job/", {"something": "else"})["statusCode"] == 422
    # a client does not choose the lane (pavi run --lane is the operator's): no field besides seq_regions
    forced = call("POST", "/api/pipeline-job/", {"seq_regions": invalid, "lane": "batch"})
    assert forced["statusCode"] == 422
    assert [(p["field"], p["message"]) for p in body(forced)["problems"]] == [("lane", "not a known field")]


def test_limits_and_the_allow_list_are_enforced_before_any_execution(
    call: Call, stack: EmulatedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.extra_env["PAVI_MAX_BODY_BYTES"] = "500"  # as ApiMaxBodyBytes would
    assert call("POST", "/api/pipeline-job/", demo_entries())["statusCode"] == 413
    stack.extra_env["PAVI_MAX_BODY_BYTES"] = "100000"
    stack.extra_env["PAVI_MAX_ENTRIES"] = "1"
    too_many = call("POST", "/api/pipeline-job/", demo_entries())
    assert too_many["statusCode"] == 413 and "at most 1" in body(too_many)["problems"][0]["message"]
    stack.extra_env["PAVI_MAX_ENTRIES"] = "10"
    stack.extra_env["PAVI_FASTA_ALLOWLIST"] = "s3.amazonaws.com"
    hostile = [
        dict(demo_entries()[0], fasta_file_url=url)
        for url in (
            "http://127.0.0.1/genome.fa.gz",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.8/genome.fa.gz",
            "file:///etc/passwd",
            "https://genomes.example.org/genome.fa.gz",
        )
    ]
    for index, entry in enumerate(hostile):
        entry["unique_entry_id"] = f"e{index}"
    refused = call("POST", "/api/pipeline-job/", hostile)
    assert refused["statusCode"] == 422
    assert [p["entry_index"] for p in body(refused)["problems"]] == [0, 1, 2, 3, 4]
    assert all(p["field"] == "fasta_file_url" for p in body(refused)["problems"])
    assert stack.sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"] == []


def test_a_host_that_does_not_resolve_is_said_so_not_refused(call: Call, stack: EmulatedStack) -> None:
    """Issue 27, item 8: a genome host that does not resolve when the job is posted was said to be
    "not allowed"; it is a resolution failure, and the answer says which."""
    stack.extra_env["PAVI_FASTA_ALLOWLIST"] = "*"
    stack.extra_env["PAVI_URL_GUARD"] = "aws"
    entry = dict(demo_entries()[0], fasta_file_url="https://no-such-host.invalid/genome.fa.gz")
    answer = call("POST", "/api/pipeline-job/", [entry])
    assert answer["statusCode"] == 422, answer
    assert body(answer)["detail"] == "fasta_file_url's host does not resolve"
    assert body(answer)["problems"][0]["message"].startswith("cannot resolve host 'no-such-host.invalid'")


def test_a_large_result_is_a_redirect_to_a_presigned_url(call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    job = body(call("POST", "/api/pipeline-job/", demo_entries()))["uuid"]
    assert wait_until_ended(call, job) == "completed"
    monkeypatch.setenv("PAVI_INLINE_RESULT_BYTES", "100")
    answer = call("GET", f"/api/pipeline-job/{job}/result/alignment")
    assert answer["statusCode"] == 302
    location = header(answer, "Location")
    assert f"results/{job}/alignment-output.aln" in location and "Signature" in location
    import urllib.request

    with urllib.request.urlopen(location, timeout=10) as response:  # the presigned URL works
        assert response.read().startswith(b"CLUSTAL O(1.2.4)")


def test_the_openapi_document_lists_exactly_the_routes_of_the_app() -> None:
    """api/openapi.yaml is kept true: the app's routes are exactly the documented ones (the
    result route's <kind> is documented as its two values)."""
    from pavi.aws import job_pictures

    routes = set()
    apps = (api.app, job_pictures.app)  # the API's function's routes and the picture function's
    for route in [r for app in apps for r in app._static_routes + app._dynamic_routes]:
        path = route.path.replace("<job_uuid>", "{uuid}").rstrip("/")
        kinds = list(api.RESULTS) if "<kind>" in path else [None]
        routes |= {(route.method.lower(), path.replace("<kind>", kind) if kind else path) for kind in kinds}
    documented_routes = {
        (method, path.rstrip("/")) for path, operations in OPENAPI["paths"].items() for method in operations
    }
    assert routes == documented_routes
    assert set(api.RESULTS) == {"alignment", "seq-info", "guide-tree", "identity-matrix", "variant-columns"}
