"""IAM's decision for identity policies (pavi.local.policies.evaluate), on the cases the template uses."""

from __future__ import annotations

from typing import Any

import pytest

from pavi.local.policies import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, evaluate


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


WORK = policy(
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/work/*"},
    {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::b",
        "Condition": {"StringLike": {"s3:prefix": ["work/*", "results/*"]}},
    },
)


@pytest.mark.parametrize(
    ("action", "resource", "context", "decision"),
    [
        ("s3:GetObject", "arn:aws:s3:::b/work/j/x.json", {}, ALLOW),
        ("S3:getobject", "arn:aws:s3:::b/work/j/x.json", {}, ALLOW),  # actions are case-insensitive
        ("s3:GetObject", "arn:aws:s3:::b/results/j/x", {}, IMPLICIT_DENY),
        ("s3:DeleteObject", "arn:aws:s3:::b/work/j/x.json", {}, IMPLICIT_DENY),
        ("s3:GetObject", "arn:aws:s3:::B/work/j/x.json", {}, IMPLICIT_DENY),  # resources are not
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "work/j/prepared.json"}, ALLOW),
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "other/x"}, IMPLICIT_DENY),
        ("s3:ListBucket", "arn:aws:s3:::b", {}, IMPLICIT_DENY),  # the key is absent: the statement does not apply
    ],
)
def test_allow_statements_apply_when_action_resource_and_conditions_match(
    action: str, resource: str, context: dict[str, str], decision: str
) -> None:
    assert evaluate([WORK], action, resource, context) == decision


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = policy(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    context = {"aws:SecureTransport": "false"}
    assert evaluate([WORK, deny], "s3:GetObject", "arn:aws:s3:::b/work/x", context) == EXPLICIT_DENY
    assert evaluate([WORK, deny], "s3:GetObject", "arn:aws:s3:::b/work/x", {"aws:SecureTransport": "true"}) == ALLOW


def test_not_action_not_resource_wildcards_and_if_exists() -> None:
    everything_but_delete = policy({"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"})
    assert evaluate([everything_but_delete], "s3:PutObject", "arn:aws:s3:::b/x") == ALLOW
    assert evaluate([everything_but_delete], "s3:DeleteObject", "arn:aws:s3:::b/x") == IMPLICIT_DENY
    not_results = policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/results/*"})
    assert evaluate([not_results], "s3:GetObject", "arn:aws:s3:::b/work/x") == ALLOW
    assert evaluate([not_results], "s3:GetObject", "arn:aws:s3:::b/results/x") == IMPLICIT_DENY
    one_char = policy(
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:F?"}
    )
    assert evaluate([one_char], "lambda:InvokeFunction", "arn:aws:lambda:r:1:function:F1") == ALLOW
    assert evaluate([one_char], "lambda:InvokeFunction", "arn:aws:lambda:r:1:function:F12") == IMPLICIT_DENY
    if_exists = policy(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "*",
            "Condition": {"StringLikeIfExists": {"s3:prefix": "a/*"}},
        }
    )
    assert evaluate([if_exists], "s3:ListBucket", "arn:aws:s3:::b") == ALLOW
    assert evaluate([if_exists], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "z"}) == IMPLICIT_DENY
