"""What the real web UI needs beyond SPEC section 6 (issue 14, items 9, 15 and 16): a job that
exists is never ``pending`` on GET, a retried POST with an Idempotency-Key returns the first job,
and the API serves its OpenAPI document at /openapi.json and a page at /api/docs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.demo import demo_entries
from support.lambdas import FakeContext, header

from pavi.aws import api
from pavi.local.serve import proxy_event
from pavi.local.stack import EmulatedStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path_factory.mktemp("logs")) as local:
        yield local
        for execution in local.sfn.list_executions(stateMachineArn=local.state_machine_arn)["executions"]:
            local.wait(execution["executionArn"], 120)  # no job cut off by the stack's end


def call(
    stack: EmulatedStack, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    event = proxy_event(method, path, data, {"content-type": "application/json", **(headers or {})})
    answer: dict[str, Any] = stack.invoke("ApiFunction", event)
    return answer


# -- 15. never pending on GET


class _NotStartedYet:
    """A Step Functions client whose execution exists but has entered no state yet."""

    class exceptions:
        class ExecutionDoesNotExist(Exception):
            pass

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"executionArn": executionArn, "status": "RUNNING"}

    def get_execution_history(self, **_: Any) -> dict[str, Any]:
        return {"events": [{"type": "ExecutionStarted"}]}


def test_a_job_whose_execution_entered_no_state_yet_is_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:pavi-pipeline")
    monkeypatch.setattr(api, "_clients", lambda: (_NotStartedYet(), None))
    job = "0b5e5a4e-7d2a-4c1e-9a3f-0d6f1b2c3d4e"
    answer = api.handler(proxy_event("GET", f"/api/pipeline-job/{job}"), FakeContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "running"


def test_right_after_post_a_job_is_running(stack: EmulatedStack) -> None:
    for _ in range(5):
        job = json.loads(call(stack, "POST", "/api/pipeline-job/", demo_entries())["body"])["uuid"]
        status = json.loads(call(stack, "GET", f"/api/pipeline-job/{job}")["body"])["status"]
        assert status in {"running", "completed", "failed"}


# -- 9. idempotent POST


def test_a_retry_with_the_same_key_returns_the_first_job(stack: EmulatedStack) -> None:
    entries = demo_entries()
    key = {"Idempotency-Key": "4b1f0c3e-retry-test"}
    first = call(stack, "POST", "/api/pipeline-job/", entries, key)
    again = call(stack, "POST", "/api/pipeline-job/", entries, {"idempotency-key": key["Idempotency-Key"]})
    assert first["statusCode"] == again["statusCode"] == 201
    job = json.loads(first["body"])["uuid"]
    assert json.loads(again["body"])["uuid"] == job
    assert header(again, "Idempotent-Replayed") == "true"
    assert header(first, "Idempotent-Replayed") == ""  # absent
    named = [e for e in stack.sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]]
    assert [e["name"] for e in named].count(job) == 1
    # once the job ended, the same retry still gets it
    arn = next(e["executionArn"] for e in named if e["name"] == job)
    stack.wait(arn, 120)
    late = call(stack, "POST", "/api/pipeline-job/", entries, key)
    assert late["statusCode"] == 201 and json.loads(late["body"])["uuid"] == job


def test_a_key_reused_with_another_body_is_a_conflict(stack: EmulatedStack) -> None:
    key = {"Idempotency-Key": "reused-key"}
    entries = demo_entries()
    assert call(stack, "POST", "/api/pipeline-job/", entries, key)["statusCode"] == 201
    conflict = call(stack, "POST", "/api/pipeline-job/", entries[:1], key)
    assert conflict["statusCode"] == 409
    assert "Idempotency-Key" in json.loads(conflict["body"])["problems"][0]["field"]


def test_without_a_key_each_post_is_a_job(stack: EmulatedStack) -> None:
    jobs = {json.loads(call(stack, "POST", "/api/pipeline-job/", demo_entries())["body"])["uuid"] for _ in range(2)}
    assert len(jobs) == 2


@pytest.mark.parametrize("key", ["has space", "x" * 256, "caf\u00e9"])
def test_an_invalid_key_is_a_400(stack: EmulatedStack, key: str) -> None:
    answer = call(stack, "POST", "/api/pipeline-job/", demo_entries(), {"Idempotency-Key": key})
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["problems"][0]["field"] == "Idempotency-Key"


# -- 16. the API's documentation


def test_openapi_json_is_api_openapi_yaml(stack: EmulatedStack) -> None:
    answer = call(stack, "GET", "/openapi.json")
    assert answer["statusCode"] == 200 and "application/json" in header(answer, "Content-Type")
    assert json.loads(answer["body"]) == yaml.safe_load((REPO / "api" / "openapi.yaml").read_text())


def test_api_docs_is_a_page_with_every_route(stack: EmulatedStack) -> None:
    answer = call(stack, "GET", "/api/docs")
    assert answer["statusCode"] == 200 and header(answer, "Content-Type").startswith("text/html")
    page = answer["body"]
    assert page.startswith("<!doctype html>") and "<script" not in page
    for path, operations in yaml.safe_load((REPO / "api" / "openapi.yaml").read_text())["paths"].items():
        for method in operations:
            assert f"<code>{method.upper()} {path}</code>" in page


def test_the_packaged_document_is_regenerated_from_the_yaml() -> None:
    packaged = json.loads((REPO / "src" / "pavi" / "aws" / "openapi.json").read_text())
    assert packaged == yaml.safe_load((REPO / "api" / "openapi.yaml").read_text()), (
        "api/openapi.yaml changed: run .venv/bin/python scripts/openapi_json.py"
    )


def test_api_gateway_routes_the_documentation_paths() -> None:
    text = (REPO / "template.yaml").read_text()
    for path in ("/openapi.json:", "/api/docs:"):
        block = text.split(f"          {path}\n", 1)[1].split("\n          /", 1)[0]
        assert "get:" in block and "security: []" in block and "aws_proxy" in block
