"""One job, one request (issue 27): a caller gets only its own job, a job ID is claimed once
before anything runs, and an execution started under a claimed job ID touches nothing of it.

Each test is one finding of the issue, run through the API function (its own process and role)
and the unmodified state machines in the local stack."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from support.demo import demo_entries
from support.lambdas import header

from pavi.aws import api
from pavi.local.serve import proxy_event
from pavi.local.stack import EmulatedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with (
        pytest.MonkeyPatch.context() as patch,
        EmulatedStack(log_dir=tmp_path_factory.mktemp("one-job") / "logs") as local,
    ):
        patch.setenv("STATE_MACHINE_ARN", local.state_machine_arn)
        api.reset()
        yield local
    api.reset()


def post(stack: EmulatedStack, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, Any]]:
    event = proxy_event(
        "POST",
        "/api/pipeline-job/",
        json.dumps(payload).encode(),
        {"content-type": "application/json", **(headers or {})},
    )
    answer: dict[str, Any] = stack.invoke("ApiFunction", event)
    return answer["statusCode"], json.loads(answer["body"]), answer


def ended(stack: EmulatedStack, job: str) -> dict[str, Any]:
    """The job's report, once its Standard execution ended (or at once, for an Express job)."""
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job}"
    with contextlib.suppress(stack.sfn.exceptions.ExecutionDoesNotExist):
        stack.wait(arn, 180)
    report: dict[str, Any] = json.loads(stack.read(f"results/{job}/job-report.json"))
    return report


def aligned_names(stack: EmulatedStack, job: str) -> set[str]:
    lines = stack.read(f"results/{job}/alignment-output.aln").decode().splitlines()[3:]
    return {line.split()[0] for line in lines if line.strip() and not line.startswith(" ")}


@pytest.mark.parametrize(
    "extra",
    [{"request_uri": "s3://pavi-local/work/OTHER/request.json"}, {"lane": "batch"}],
    ids=["request_uri", "lane"],
)
def test_a_single_entry_object_is_held_to_the_entry_fields(stack: EmulatedStack, extra: dict[str, Any]) -> None:
    """Finding 1: a single entry object with ``request_uri`` read another job's sequences, with
    ``lane`` chose the lane. Every form of the body is held to the entry's fields: 422, the field named."""
    status, answer, _ = post(stack, {**demo_entries()[0], **extra})
    field = next(iter(extra))
    assert status == 422, answer
    assert [(p["entry_index"], p["field"]) for p in answer["problems"]] == [(0, field)]
    assert "not a known field" in answer["problems"][0]["message"] or "Extra inputs" in answer["problems"][0]["message"]
    status, answer, _ = post(stack, [{**demo_entries()[0], **extra}])  # the same entry in a list
    assert status == 422 and answer["problems"][0]["field"] == field


def test_the_execution_gets_the_request_by_reference_and_nothing_a_caller_chose(stack: EmulatedStack) -> None:
    status, job, _ = post(stack, demo_entries())
    assert status == 201
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job['uuid']}"
    started = json.loads(stack.sfn.describe_execution(executionArn=arn)["input"])
    kept = stack.read(f"work/{job['uuid']}/request.json")
    assert started == {
        "request_uri": f"s3://pavi-local/work/{job['uuid']}/request.json",
        "request_sha256": hashlib.sha256(kept).hexdigest(),
    }
    assert json.loads(kept) == {"seq_regions": demo_entries()}
    assert ended(stack, job["uuid"])["status"] == "completed"


def test_one_key_with_two_bodies_at_once_is_one_job_and_one_conflict(stack: EmulatedStack) -> None:
    """Finding 2: one key, two different bodies sent together: both got 201 with one job ID, the
    job held both bodies' entries. Now one is the job (its entries only), the other a 409."""
    entries = demo_entries()
    bodies = [entries, [dict(entries[0], unique_entry_id="only-this", base_seq_name="only-this")]]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda body: post(stack, body, key), bodies))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [201, 409], answers
    winner = next(index for index, (status, _, _) in enumerate(answers) if status == 201)
    job = answers[winner][1]["uuid"]
    report = ended(stack, job)
    assert report["status"] == "completed"
    names = aligned_names(stack, job)
    ours = {name for name in names if name.startswith("only-this")}
    assert ours == (names if winner == 1 else set()), names  # one body's entries, never both
    assert json.loads(stack.read(f"work/{job}/request.json")) == {"seq_regions": bodies[winner]}
    assert answers[1 - winner][1]["problems"][0]["field"] == "Idempotency-Key"


def test_one_body_sent_three_times_at_once_is_one_job_run_once(stack: EmulatedStack) -> None:
    """Finding 2: three copies with one key (``Prefer: wait``): two Express executions ran into one
    prefix. Now one execution runs the job; the others answer the same job, replayed."""
    before = sum(1 for name, _, _ in stack.invocations if name == "ValidateFunction")
    key = {"Idempotency-Key": str(uuid.uuid4()), "Prefer": "wait=20"}
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(stack, demo_entries(), key), range(3)))
    assert {status for status, _, _ in answers} == {201}
    assert len({answer["uuid"] for _, answer, _ in answers}) == 1
    assert sum(header(raw, "Idempotent-Replayed") == "true" for _, _, raw in answers) == 2
    job = answers[0][1]["uuid"]
    assert ended(stack, job)["counts"]["sequences"] == 3
    validations = sum(1 for name, _, _ in stack.invocations if name == "ValidateFunction") - before
    assert validations == 1


def test_an_execution_under_a_claimed_job_id_touches_nothing(stack: EmulatedStack) -> None:
    """Finding 3: ``start-execution --name J`` (Standard), then ``start-sync-execution --name J``
    (Express) with another entry replaced ``results/J/`` and aligned stale rows. Now the second
    execution fails with JobIdClaimed and every file of the first job is as it was."""
    job, arn = stack.start({"seq_regions": demo_entries()})
    assert stack.wait(arn, 180)["status"] == "SUCCEEDED"
    before = {key: stack.read(key) for key in stack.keys(f"results/{job}/") + stack.keys(f"work/{job}/")}
    other = [dict(demo_entries()[0], unique_entry_id="intruder", base_seq_name="intruder")]
    for machine in (stack.express_state_machine_arn, stack.state_machine_arn):
        if machine == stack.state_machine_arn:  # Standard refuses the name itself; under a new name, by reference
            name, payload = f"{job}-again", {"request_uri": f"s3://pavi-local/work/{job}/request.json"}
            answer = stack.sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))
            outcome = stack.wait(answer["executionArn"], 60)
            assert outcome["status"] == "FAILED" and outcome["error"] == "RequestValidationError", outcome
            assert f"is not this job's request (s3://pavi-local/work/{name}/request.json)" in outcome["cause"]
            continue
        answer = stack.sfn.start_sync_execution(stateMachineArn=machine, name=job, input=json.dumps(other))
        assert answer["status"] == "FAILED" and answer["error"] == "JobIdClaimed", answer
        assert f"job ID {job} is run by another execution" in answer["cause"]
    after = {key: stack.read(key) for key in stack.keys(f"results/{job}/") + stack.keys(f"work/{job}/")}
    assert after == before
    assert stack.sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_the_preparation_aligns_the_manifests_entries_only(stack: EmulatedStack) -> None:
    """Finding 3's stale rows: files of entries the manifest does not list are not aligned."""
    job = str(uuid.uuid4())
    stale = "ZZZ-stale"
    stack.s3.put_object(Bucket="pavi-local", Key=f"work/{job}/sequences/{stale}-protein.fa", Body=b">stale\nMKV\n")
    seqinfo = json.dumps({"stale": {"seq_length": 3}}).encode()
    stack.s3.put_object(Bucket="pavi-local", Key=f"work/{job}/sequences/{stale}-seqinfo.json", Body=seqinfo)
    job, arn = stack.start({"seq_regions": demo_entries()}, job_id=job)
    assert stack.wait(arn, 180)["status"] == "SUCCEEDED"
    assert "stale" not in aligned_names(stack, job) and len(aligned_names(stack, job)) == 3


def test_prefer_respond_async_wins_over_wait(stack: EmulatedStack) -> None:
    status, job, raw = post(stack, demo_entries(), {"Prefer": "respond-async, wait=20"})
    assert status == 201 and job["status"] == "pending" and header(raw, "Preference-Applied") == ""
    assert ended(stack, job["uuid"])["status"] == "completed"


def test_docs_is_the_api_page(stack: EmulatedStack) -> None:
    """Finding 8: the previous web UI links its /api/docs to the API's /docs."""
    answer: dict[str, Any] = stack.invoke("ApiFunction", proxy_event("GET", "/docs", None, {}))
    assert answer["statusCode"] == 200 and answer["body"].startswith("<!doctype html>")
    assert answer["body"] == stack.invoke("ApiFunction", proxy_event("GET", "/api/docs", None, {}))["body"]


@pytest.mark.parametrize("machine", ["STANDARD", "EXPRESS"])
def test_the_stand_in_refuses_what_step_functions_refuses(stack: EmulatedStack, machine: str) -> None:
    """Finding 5 (item 4): a 300 KB input started, names ``../x`` and ``a b`` were accepted, a
    malformed input answered with an empty error code. Both calls now answer with AWS's codes."""
    from botocore.exceptions import ClientError

    arn = stack.state_machine_arn if machine == "STANDARD" else stack.express_state_machine_arn
    start = stack.sfn.start_execution if machine == "STANDARD" else stack.sfn.start_sync_execution
    cases = [
        ("../x", "{}", "InvalidName"),
        ("a b", "{}", "InvalidName"),
        ("x" * 81, "{}", "InvalidName"),
        (str(uuid.uuid4()), json.dumps({"seq_regions": ["x" * 300_000]}), "ValidationException"),
        (str(uuid.uuid4()), "{not json", "InvalidExecutionInput"),
    ]
    for name, text, code in cases:
        with pytest.raises(ClientError) as refused:
            start(stateMachineArn=arn, name=name, input=text)
        assert refused.value.response["Error"]["Code"] == code, (name, refused.value.response)
    if machine == "STANDARD":
        names = {e["name"] for e in stack.sfn.list_executions(stateMachineArn=arn)["executions"]}
        assert not {"../x", "a b"} & names


def test_unsigned_requests_are_refused_with_403_and_no_traceback(stack: EmulatedStack) -> None:
    """Finding 5 (item 4): an unsigned S3 request got 500 with a traceback, retried 4 times."""
    import urllib.error
    import urllib.request

    for url, data, headers in (
        (f"{stack.endpoint}/pavi-local/work/x/request.json", None, {}),
        (f"{stack.endpoint}/", b"{}", {"X-Amz-Target": "AWSStepFunctions.ListStateMachines"}),
    ):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        body = refused.value.read()
        assert refused.value.code == 403 and b"AccessDenied" in body and b"Traceback" not in body, body[:300]


def test_no_users_keys_take_a_functions_role(stack: EmulatedStack) -> None:
    """Finding 5 (item 4): every role trusted {"AWS": "*"}, so the operator's keys could assume any
    function's role. The roles trust their service only, as SAM writes them."""
    import boto3
    from botocore.exceptions import ClientError

    role = stack.principals["ValidateFunctionRole"]
    assert role.trust["Statement"][0]["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    with pytest.raises(ClientError) as refused:
        boto3.client("sts").assume_role(RoleArn=role.arn, RoleSessionName="operator")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert f"sts:AssumeRole on resource: {role.arn}" in refused.value.response["Error"]["Message"]


def test_an_object_body_may_name_its_aligner_and_nothing_else(stack: EmulatedStack) -> None:
    """Issue 29: ``aligner`` is the one field an object body holds besides its entries; it is
    kept with the request (its digest), and a value that is not an aligner is a 422 naming it."""
    status, job, _ = post(stack, {"seq_regions": demo_entries(), "aligner": "famsa"})
    assert status == 201
    assert json.loads(stack.read(f"work/{job['uuid']}/request.json"))["aligner"] == "famsa"
    status, refused, _ = post(stack, {"seq_regions": demo_entries(), "aligner": "muscle"})
    assert status == 422 and refused["problems"][0]["field"] == "aligner"
    assert ended(stack, job["uuid"])["provenance"]["alignment"]["aligner"] == "famsa"
