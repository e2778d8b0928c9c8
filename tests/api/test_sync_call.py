"""``Prefer: wait=N`` on ``POST /api/pipeline-job/`` (issue 22): the job through the Express
workflow, answered when it ends in time; the same job for every other route either way."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from support.demo import demo_entries
from support.serve import Served, pavi_serve

from pavi.aws.lanes import LAMBDA_LANE_LIMITS
from pavi.aws.sync_jobs import EXPRESS_MARGIN, EXPRESS_SECONDS, MAX_WAIT, JobView, job_view, prefer_wait


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with pavi_serve({"PAVI_LOCAL_CONTAINERS": "0"}) as server:
        yield server


def post(served: Served, prefer: str | None, key: str | None = None, body: object = None) -> tuple[int, dict, dict]:
    headers = {**({"Prefer": prefer} if prefer else {}), **({"Idempotency-Key": key} if key else {})}
    payload = body if body is not None else {"seq_regions": demo_entries()}
    status, data, answer = served.request("/api/pipeline-job/", "POST", payload, headers=headers)
    return status, json.loads(data), answer


def test_prefer_wait_answers_the_finished_job_with_links_to_every_result(served: Served) -> None:
    status, job, headers = post(served, "wait=20")
    assert status == 201 and job["status"] == "completed", job
    assert headers["Preference-Applied"] == "wait=20"
    base = f"/api/pipeline-job/{job['uuid']}"
    assert job["results"]["alignment"] == f"{base}/result/alignment" and job["logs"] == f"{base}/logs"
    assert job["lanes"] == {"retrieval": "lambda", "alignment": "lambda"}
    # the same job for the other routes, though it never had a Standard execution
    code, data, _ = served.request(base)
    assert code == 200 and json.loads(data)["status"] == "completed"
    for kind, link in job["results"].items():
        code, data, _ = served.request(link)
        assert code == 200 and data, kind
    code, data, _ = served.request(f"{base}/result/alignment")
    assert data.startswith(b"CLUSTAL")
    code, data, _ = served.request(job["logs"])
    assert code == 200 and b"# report" in data and b"status: completed" in data
    # issue 27, item 8: the Express execution's history is not kept; the log lists the steps anyway
    steps = data.decode().split("# report")[0]
    for step in ("validation", "retrieval", "preparation", "alignment", "collection"):
        assert f"{step}: started" in steps and f"{step}: done" in steps, steps


def test_a_job_too_large_for_the_lambda_lane_goes_on_as_the_same_job(served: Served) -> None:
    many = [dict(demo_entries()[0], unique_entry_id=f"e{n}") for n in range(LAMBDA_LANE_LIMITS["entries"] + 1)]
    status, job, headers = post(served, "wait=20", body={"seq_regions": many})
    assert status == 201 and job["status"] == "running" and "Preference-Applied" not in headers
    base = f"/api/pipeline-job/{job['uuid']}"
    deadline = time.monotonic() + 180
    seen = []
    while time.monotonic() < deadline:  # the web UI's polling
        code, data, _ = served.request(base)
        assert code == 200
        seen.append(json.loads(data)["status"])
        if seen[-1] != "running":
            break
        time.sleep(0.5)
    assert seen[-1] == "completed" and set(seen) <= {"running", "completed"}, seen
    code, data, _ = served.request(f"{base}/logs")  # the Standard workflow's history and report
    assert code == 200 and b"lanes: retrieval batch, alignment batch" in data


def test_a_handed_off_bare_list_is_replayed_not_refused(served: Served) -> None:
    """The web UI's body is the bare list; a job handed to the Standard workflow carries the
    request by reference (its digest): a retry with the same key and body is the same job."""
    many = [dict(demo_entries()[0], unique_entry_id=f"b{n}") for n in range(LAMBDA_LANE_LIMITS["entries"] + 1)]
    key = str(uuid.uuid4())
    status, job, _ = post(served, "wait=20", key, many)
    assert status == 201 and job["status"] == "running"
    again, replayed, headers = post(served, "wait=20", key, many)
    assert again == 201 and replayed["uuid"] == job["uuid"] and headers["Idempotent-Replayed"] == "true"


def test_a_job_still_in_the_express_workflow_is_running_until_its_report(moto_s3: dict[str, str]) -> None:
    import boto3

    s3, sfn = boto3.client("s3"), boto3.client("stepfunctions", endpoint_url=moto_s3["AWS_ENDPOINT_URL_S3"])
    s3.create_bucket(Bucket="jobs")
    job = str(uuid.uuid4())
    arn = f"arn:aws:states:us-east-1:123456789012:execution:pavi-pipeline:{job}"
    assert job_view(sfn, s3, lambda: "jobs", arn, job) is None  # no such job
    s3.put_object(Bucket="jobs", Key=f"work/{job}/request.json", Body=b"{}")
    assert job_view(sfn, s3, lambda: "jobs", arn, job) == JobView("running")
    s3.put_object(Bucket="jobs", Key=f"results/{job}/job-report.json", Body=b'{"status": "failed"}')
    assert job_view(sfn, s3, lambda: "jobs", arn, job) == JobView("failed")


def test_an_express_execution_that_ended_without_a_report_is_failed(moto_s3: dict[str, str]) -> None:
    from datetime import UTC, datetime, timedelta

    import boto3

    s3, sfn = boto3.client("s3"), boto3.client("stepfunctions", endpoint_url=moto_s3["AWS_ENDPOINT_URL_S3"])
    s3.create_bucket(Bucket="jobs")
    job = str(uuid.uuid4())
    s3.put_object(Bucket="jobs", Key=f"work/{job}/request.json", Body=b"{}")
    written = datetime.now(UTC) - timedelta(seconds=EXPRESS_SECONDS + EXPRESS_MARGIN + 1)

    class Old:  # S3 as it answers once the Express workflow's longest execution has passed
        exceptions = s3.exceptions

        def get_object(self, **where: str) -> dict[str, object]:
            return {**s3.get_object(**where), "LastModified": written}

    view = job_view(
        sfn, Old(), lambda: "jobs", f"arn:aws:states:us-east-1:123456789012:execution:pavi-pipeline:{job}", job
    )
    assert view is not None and view.status == "failed" and "log group" in str(view.detail)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("wait=10", 10),
        ("WAIT = 3", 3),
        ('wait="7"', 7),
        ("respond-async, wait=100", None),  # RFC 7240: respond-async wins
        ("wait=5, respond-async", None),
        ("wait=100", MAX_WAIT),
        ("return=minimal; foo=bar, wait=2;x=y", 2),
        ("wait=-1", None),
        ("wait=soon", None),
        ("handling=lenient", None),
        ("", None),
        (None, None),
    ],
)
def test_prefer_values(header: str | None, wait: int | None) -> None:
    assert prefer_wait(header) == wait
