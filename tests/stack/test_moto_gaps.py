"""DESIGN.md section 5: a known gap of moto's interpreter, pinned by a test that fails when
it changes. The pipeline's ASL does not depend on it: it has no Map (the retrieval is one
Batch array job, or one Lambda invocation), so no error leaves a Map iteration."""

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


def test_moto_s_own_iam_decision_still_needs_ours() -> None:
    """The local stack switches moto's request authentication on (settings.INITIAL_NO_AUTH_ACTION_COUNT)
    and decides with pavi.local.policies.evaluate through IAMRequestBase.check_action_permitted.
    Pinned: those hooks exist, and moto's own evaluation still ignores an s3:prefix condition
    (a prefix-limited s3:ListBucket allows listing anything), which would hide a policy that
    lists too little or too much."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMRequestBase, PermissionResult

    from pavi.local.policies import ALLOW, IMPLICIT_DENY, evaluate

    assert hasattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT")
    assert callable(IAMRequestBase.check_action_permitted)
    assert callable(ActionAuthenticatorMixin._authenticate_and_authorize_action)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::b",
                "Condition": {"StringLike": {"s3:prefix": "work/*"}},
            }
        ],
    }
    other = {"s3:prefix": "other/x"}
    moto_says = IAMPolicy(json.dumps(policy)).is_action_permitted("s3:ListBucket", "arn:aws:s3:::b", None, other)
    assert moto_says == PermissionResult.PERMITTED  # when this fails, moto changed: revisit pavi.local.iam
    assert evaluate([policy], "s3:ListBucket", "arn:aws:s3:::b", other) == IMPLICIT_DENY
    assert evaluate([policy], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "work/j/x"}) == ALLOW
