"""IAM's decision for identity policies, and the identities of the local account.

- :func:`evaluate` decides as IAM does for identity policies: an explicit ``Deny`` wins, then
  any ``Allow`` whose ``Action``/``NotAction``, ``Resource``/``NotResource`` and
  ``Condition`` all match; otherwise the call is implicitly denied. Conditions support the
  ``String*``, ``Arn*`` and ``Bool`` operators (with ``IfExists``) on the keys the request
  carries (``s3:prefix``, ``aws:SecureTransport``).
- :class:`Principal` is one identity: the roles of the template (created in moto's IAM and
  assumed through its STS, so each Lambda worker and Batch job signs with its own
  temporary credentials) and the local operator (an administrator user, for the harness).

:mod:`pavi.local.iam` makes moto decide every request with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    # IAM wildcards: * any run of characters, ? one character (no character classes)
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if key not in context:
        return if_exists or (base == "Null" and str(expected).lower() == "true")
    actual = context[key]
    wanted = [str(v) for v in _as_list(expected)]
    checks: dict[str, Callable[[], bool]] = {
        "StringEquals": lambda: actual in wanted,
        "StringNotEquals": lambda: actual not in wanted,
        "StringEqualsIgnoreCase": lambda: actual.lower() in [w.lower() for w in wanted],
        "StringLike": lambda: any(_matches(w, actual) for w in wanted),
        "StringNotLike": lambda: not any(_matches(w, actual) for w in wanted),
        "ArnEquals": lambda: actual in wanted,
        "ArnLike": lambda: any(_matches(w, actual) for w in wanted),
        "ArnNotLike": lambda: not any(_matches(w, actual) for w in wanted),
        "Bool": lambda: actual.lower() in [w.lower() for w in wanted],
        "Null": lambda: str(expected).lower() == "false",
    }
    if base not in checks:
        raise ValueError(f"condition operator {operator} is not reproduced locally")
    return checks[base]()


def _statement_applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if "Action" in statement:
        if not any(_matches(p, action, case_sensitive=False) for p in _as_list(statement["Action"])):
            return False
    elif any(_matches(p, action, case_sensitive=False) for p in _as_list(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_matches(p, resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(_matches(p, resource) for p in _as_list(statement["NotResource"])):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


def evaluate(policies: list[dict[str, Any]], action: str, resource: str, context: dict[str, str] | None = None) -> str:
    """IAM's decision on ``action`` over ``resource`` for a principal with these identity policies."""
    decision = IMPLICIT_DENY
    for policy in policies:
        for statement in _as_list(policy.get("Statement", [])):
            if _statement_applies(statement, action, resource, context or {}):
                if statement.get("Effect") == "Deny":
                    return EXPLICIT_DENY
                decision = ALLOW
    return decision


def denial_message(principal_arn: str, action: str, resource: str, decision: str) -> str:
    """AWS's wording of an access denial."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision == EXPLICIT_DENY
        else (f"because no identity-based policy allows the {action} action")
    )
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"


@dataclass
class Principal:
    """One identity of the local account: its ARN, its policies and, once provisioned, its keys."""

    name: str
    arn: str
    policies: list[dict[str, Any]]
    credentials: dict[str, str] = field(default_factory=dict)
    session_arn: str = ""  # who calls: the assumed role's session (arn:aws:sts::...:assumed-role/NAME/SESSION)
    trust: dict[str, Any] = field(default_factory=dict)  # a role's AssumeRolePolicyDocument, as the template writes it

    @property
    def caller(self) -> str:
        return self.session_arn or self.arn

    def allows(self, action: str, resource: str, context: dict[str, str] | None = None) -> str:
        return evaluate(self.policies, action, resource, context)

    def env(self) -> dict[str, str]:
        """The credentials as the SDKs read them from the environment."""
        names = {"AccessKeyId": "AWS_ACCESS_KEY_ID", "SecretAccessKey": "AWS_SECRET_ACCESS_KEY"}
        env = {names[k]: v for k, v in self.credentials.items() if k in names}
        if self.credentials.get("SessionToken"):
            env["AWS_SESSION_TOKEN"] = self.credentials["SessionToken"]
        return env
