"""The AWS account a stack deploys into: its settings, and what AWS refuses or silently
breaks because of them. The local stack runs :func:`deploy_problems` on the translated
template before it starts, as a first deployment into a new account would meet them.

A new account has no API Gateway CloudWatch Logs role (an account- and region-level
setting), and AWS Batch creates its service-linked role on first use when the deployer may
(``iam:CreateServiceLinkedRole``). :class:`Account` says which of these it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pavi.local.cloudformation import Resolver


@dataclass(frozen=True)
class Account:
    """Settings of the account the local stack deploys into (a new account by default)."""

    api_gateway_cloudwatch_role: bool = False  # set once per region (aws apigateway update-account)
    may_create_service_linked_roles: bool = True  # the deployer's iam:CreateServiceLinkedRole


class DeployError(RuntimeError):
    """What AWS would refuse when deploying the template, or what would never work after it."""

    def __init__(self, problems: list[str]):
        super().__init__("the stack would not work in AWS:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


def _created(resolver: Resolver, name: str) -> bool:
    condition = resolver.resources[name].get("Condition")
    return condition is None or resolver.condition(condition)


def _of_type(resolver: Resolver, kind: str) -> dict[str, Any]:
    return {n: r for n, r in resolver.resources.items() if r["Type"] == kind and _created(resolver, n)}


def _stage_logs(properties: dict[str, Any]) -> bool:
    if properties.get("AccessLogSetting"):
        return True
    levels = {str(m.get("LoggingLevel", "OFF")).upper() for m in properties.get("MethodSettings", [])}
    return bool(levels - {"OFF"})


def deploy_problems(resolver: Resolver, account: Account) -> list[str]:
    """Every reason the translated template would fail to deploy, or fail at its first use."""
    problems = []
    stages = _of_type(resolver, "AWS::ApiGateway::Stage")
    sets_logging_role = any(
        r["Properties"].get("CloudWatchRoleArn") for r in _of_type(resolver, "AWS::ApiGateway::Account").values()
    )
    for name, stage in stages.items():
        if _stage_logs(stage["Properties"]) and not (account.api_gateway_cloudwatch_role or sets_logging_role):
            problems.append(
                f"{name}: CloudWatch Logs role ARN must be set in account settings to enable logging "
                "(no AWS::ApiGateway::Account in the stack and none in the account)"
            )
    for name, deployment in _of_type(resolver, "AWS::ApiGateway::Deployment").items():
        stage_name = deployment["Properties"].get("StageName")
        if stage_name:
            problems.append(
                f"{name} deploys a stage named {stage_name!r} of its own, without the settings of the "
                "API's AWS::ApiGateway::Stage (throttling, logs, usage plan): set OpenApiVersion"
            )
    topics = _of_type(resolver, "AWS::SNS::Topic")
    for name, alarm in _of_type(resolver, "AWS::CloudWatch::Alarm").items():
        for action in alarm["Properties"].get("AlarmActions", []):
            topic = action.get("Ref") if isinstance(action, dict) else None
            key = topics.get(topic, {}).get("Properties", {}).get("KmsMasterKeyId") if topic else None
            if isinstance(key, str) and key.lower() in {"alias/aws/sns", "aws/sns"}:
                problems.append(
                    f"{name} notifies {topic}, encrypted with the AWS-managed key {key}: CloudWatch may not "
                    "use that key, so the alarm never notifies (use a customer-managed key that allows "
                    "cloudwatch.amazonaws.com)"
                )
    for name, key in _of_type(resolver, "AWS::KMS::Key").items():
        users = [t for t, r in topics.items() if r["Properties"].get("KmsMasterKeyId") == {"Ref": name}]
        alarmed = any(
            {"Ref": t} in a["Properties"].get("AlarmActions", [])
            for t in users
            for a in _of_type(resolver, "AWS::CloudWatch::Alarm").values()
        )
        if alarmed and not _allows_cloudwatch(key["Properties"].get("KeyPolicy", {})):
            problems.append(
                f"{name} encrypts an alarm topic but its key policy does not let cloudwatch.amazonaws.com use it"
            )
    if _of_type(resolver, "AWS::Batch::ComputeEnvironment") and not account.may_create_service_linked_roles:
        problems.append(
            "AWS Batch needs its service-linked role AWSServiceRoleForBatch: create it once "
            "(aws iam create-service-linked-role --aws-service-name batch.amazonaws.com)"
        )
    return problems


def _allows_cloudwatch(policy: dict[str, Any]) -> bool:
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = services if isinstance(services, list) else [services]
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if (
            statement.get("Effect") == "Allow"
            and "cloudwatch.amazonaws.com" in services
            and "kms:Decrypt" in actions
            and any(a.startswith("kms:GenerateDataKey") for a in actions)
        ):
            return True
    return False
