"""DESIGN.md section 5: a known gap of moto's interpreter, pinned by a test that fails when
it changes. The pipeline's ASL does not depend on it: each retrieval iteration catches its
own failure (EntryRetrievalFailed), so no error leaves the Map."""

from __future__ import annotations

import json
from pathlib import Path

from pavi.local.stack import EmulatedStack
from pavi.local.template import QUEUE_ARN


def test_a_states_error_leaving_a_map_iteration_arrives_as_states_runtime(tmp_path: Path) -> None:
    with EmulatedStack(log_dir=tmp_path) as stack:
        retrieval = stack.model.job_definitions()["RetrievalJobDefinition"]
        definition = {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Job",
                        "States": {
                            "Job": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::batch:submitJob.sync",
                                "Parameters": {
                                    "JobName": "gap",
                                    "JobQueue": QUEUE_ARN,
                                    "JobDefinition": retrieval.arn,
                                    # no such entry: exit 1 on each of the retry strategy's 3 attempts
                                    "Parameters": {"entry": str(tmp_path / "missing.json"), "out": str(tmp_path)},
                                },
                                "End": True,
                            }
                        },
                    },
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        }
        arn = stack.sfn.create_state_machine(
            name="moto-gap", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = stack.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1]}))["executionArn"]
        description = stack.wait(execution, 120)
        failed_inside = [
            e["taskFailedEventDetails"]["error"] for e in stack.history(execution) if e["type"] == "TaskFailed"
        ]
    assert failed_inside == ["States.TaskFailed"]  # the job failed inside the iteration
    caught = json.loads(description["output"])["error"]["Error"]
    assert caught == "States.Runtime"  # in AWS the Map's catcher sees States.TaskFailed
