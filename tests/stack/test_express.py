"""The Express workflow and StartSyncExecution in the local stack (issue 22), and the retry
of an idle image function (issue 23, item 5), through the unmodified state machines."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support.demo import demo_entries

import pavi.local.express as express
from pavi.local.stack import EmulatedStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path_factory.mktemp("express") / "logs") as local:
        yield local


def run_sync(stack: EmulatedStack, payload: Any, client: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = (client or stack.sfn).start_sync_execution(
        stateMachineArn=stack.express_state_machine_arn, name=str(uuid.uuid4()), input=json.dumps(payload)
    )
    return answer


def test_a_job_that_fits_ends_with_its_summary_and_the_alignment(stack: EmulatedStack) -> None:
    answer = run_sync(stack, {"seq_regions": demo_entries()})
    assert answer["status"] == "SUCCEEDED", answer
    summary = json.loads(answer["output"])
    job = summary["job_id"]
    assert job == answer["name"]  # the execution's name is the job's ID
    assert summary["status"] == "completed" and summary["counts"]["sequences"] == 3
    assert summary["lanes"] == {"retrieval": "lambda", "alignment": "lambda"}
    assert summary["alignment_clustal"] == stack.read(f"results/{job}/alignment-output.aln").decode()
    assert summary["result_files"]["guide_tree"] == f"s3://pavi-local/results/{job}/guide-tree.dnd"
    assert json.loads(stack.read(f"results/{job}/job-report.json"))["status"] == "completed"
    billed = answer["billingDetails"]
    assert billed["billedMemoryUsedInMB"] == 64 and billed["billedDurationInMilliseconds"] % 100 == 0
    with pytest.raises(ClientError) as undescribed:  # as on AWS: an Express execution cannot be described
        stack.sfn.describe_execution(executionArn=answer["executionArn"])
    assert undescribed.value.response["Error"]["Code"] in {"InvalidArn", "ExecutionDoesNotExist"}  # not AccessDenied


@pytest.mark.parametrize("why", ["too large for the Lambda lane", "the Lambda lane failed"])
def test_a_job_that_does_not_fit_is_handed_to_the_standard_workflow(stack: EmulatedStack, why: str) -> None:
    payload: dict[str, Any] = {"seq_regions": demo_entries()}
    if why == "too large for the Lambda lane":
        payload["lane"] = "batch"  # as a job over the lane's limits: the same Choice rule
    else:
        stack.faults.raise_errors["RetrieveFunction"] = 1
    answer = run_sync(stack, payload)
    assert answer["status"] == "SUCCEEDED", answer
    output = json.loads(answer["output"])
    job = answer["name"]
    assert output == {
        "job_id": job,
        "status": "running",
        "execution_arn": stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job}",
    }
    description = stack.wait(output["execution_arn"], 180)
    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["input"])["request_uri"] == f"s3://pavi-local/work/{job}/request.json"
    report = json.loads(stack.read(f"results/{job}/job-report.json"))
    assert report["status"] == "completed" and report["lanes"]["retrieval"] == "batch"


def test_express_refuses_a_waiting_integration_at_creation_with_aws_message(stack: EmulatedStack) -> None:
    role = stack.principals["ExpressStateMachineRole"].arn
    definition = stack.model.definition()  # the Standard workflow's: .sync Batch tasks
    with pytest.raises(ClientError) as refused:
        stack.sfn.create_state_machine(name="express-sync", definition=definition, roleArn=role, type="EXPRESS")
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["Error"]["Message"] == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support "
        "'.sync' service integration. at /States/RetrieveSequences/Resource'"
    )
    assert express.express_problem((REPO / "statemachine" / "express.asl.json").read_text()) is None


def test_start_sync_execution_keeps_aws_rules(stack: EmulatedStack) -> None:
    with pytest.raises(ClientError, match="StateMachineTypeNotSupported"):
        stack.sfn.start_sync_execution(stateMachineArn=stack.state_machine_arn, input="{}")
    with pytest.raises(ClientError, match="ValidationException"):
        stack.sfn.start_sync_execution(
            stateMachineArn=stack.express_state_machine_arn, input=json.dumps({"x": "a" * express.PAYLOAD_LIMIT})
        )
    keys = stack.principals["ValidateFunctionRole"].env()  # a role without states:StartSyncExecution
    session = boto3.session.Session(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], keys["AWS_SESSION_TOKEN"])
    with pytest.raises(ClientError) as denied:
        run_sync(stack, {"seq_regions": demo_entries()}, session.client("stepfunctions"))
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "states:StartSyncExecution" in denied.value.response["Error"]["Message"]


def test_an_execution_past_express_limit_times_out(stack: EmulatedStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(express, "EXPRESS_SECONDS", 1.0)
    stack.faults.slow["ValidateFunction"] = (3.0, 1)
    answer = run_sync(stack, {"seq_regions": demo_entries()})
    assert answer["status"] == "TIMED_OUT" and answer["error"] == "States.Timeout"


def test_an_idle_image_function_is_retried_before_any_fallback(stack: EmulatedStack) -> None:
    stack.faults.not_ready["AlignFunction"] = 1  # Lambda restores an inactive image function
    job_id, arn = stack.start({"seq_regions": demo_entries()})
    assert stack.wait(arn, 180)["status"] == "SUCCEEDED"
    report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    assert report["lanes"] == {"retrieval": "lambda", "alignment": "lambda"}  # no fallback
    assert stack.faults.not_ready["AlignFunction"] == 0
