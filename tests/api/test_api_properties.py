"""Generated requests against the API handler: never a 5xx, every refused body a 4xx with
its problems listed. moto (in-process) stands in for Step Functions and S3; executions
are started but not run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from support.lambdas import FakeContext, load_handler
from support.payloads import json_values, mutated_entries

from pavi.aws import api
from pavi.local.serve import proxy_event

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = 400  # per test; three tests: 1,200 generated requests


@pytest.fixture(scope="module")
def call() -> Iterator[Callable[[str, str, bytes | None], dict[str, Any]]]:
    saved = {k: os.environ.get(k) for k in ("STATE_MACHINE_ARN", "PAVI_BUCKET", "AWS_DEFAULT_REGION")}
    with mock_aws():
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        boto3.client("s3").create_bucket(Bucket="pavi-props")
        arn = boto3.client("stepfunctions").create_state_machine(
            name="pavi-pipeline",
            definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/r",
        )["stateMachineArn"]
        os.environ.update(STATE_MACHINE_ARN=arn, PAVI_BUCKET="pavi-props")
        api.reset()
        handler = load_handler("api")

        def request(method: str, path: str, body: bytes | None = None) -> dict[str, Any]:
            answer: dict[str, Any] = handler(proxy_event(method, path, body), FakeContext())
            return answer

        yield request
    api.reset()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def check_post(answer: dict[str, Any]) -> None:
    status = answer["statusCode"]
    assert status < 500, answer
    if status == 201:
        return
    assert 400 <= status < 500, answer
    problems = json.loads(answer["body"])["problems"]
    assert problems and all({"entry_index", "field", "message"} <= set(p) and p["message"] for p in problems)


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.lists(mutated_entries(), min_size=0, max_size=3)
    | st.builds(lambda e: {"seq_regions": e}, st.lists(mutated_entries(), max_size=2))
)
def test_entry_like_bodies(call: Callable[..., dict[str, Any]], body: Any) -> None:
    check_post(call("POST", "/api/pipeline-job/", json.dumps(body).encode()))


@SETTINGS
@given(json_values | st.binary(max_size=60).map(lambda b: b))
def test_arbitrary_bodies(call: Callable[..., dict[str, Any]], body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    check_post(call("POST", "/api/pipeline-job/", data))


@SETTINGS
@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    st.sampled_from(["", "/result/alignment", "/result/seq-info", "/logs", "/result/other", "/x/y"]),
    st.uuids().map(str) | st.text(alphabet="abcdef0123456789-%._~", min_size=1, max_size=40),
)
def test_arbitrary_job_routes(call: Callable[..., dict[str, Any]], method: str, tail: str, job: str) -> None:
    answer = call(method, f"/api/pipeline-job/{job}{tail}")
    assert answer["statusCode"] in {200, 201, 302, 400, 404, 405, 413, 422}, answer
