"""IAM for one machine: every call is made with the credentials of the role the template
gives its caller, and allowed only if that role's policies allow it.

- :func:`~pavi.local.policies.evaluate` decides as IAM does for identity policies, and
  :class:`~pavi.local.policies.Principal` is one identity (:mod:`pavi.local.policies`).
- :func:`enforce` switches on moto's request authentication with :func:`evaluate` as its
  decision, for every service moto serves. It also makes S3 answer a missing key as S3 does
  for a caller without ``s3:ListBucket`` on the bucket: 403 AccessDenied, not 404.

moto's own decision hides real defects: it ignores conditions such as ``s3:prefix`` (a
prefix-limited ``s3:ListBucket`` lists anything), checks Step Functions calls against ``*``,
and answers a missing key 404 to anyone: ``docs/decisions.md`` lists what this reproduces
and what not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pavi.local.cloudformation import role_arn
from pavi.local.policies import ALLOW, Principal, denial_message

# ------------------------------------------------------------------ moto's request authorization

_state: dict[str, Any] = {"principals": {}, "s3_exists": None, "faults": None}
_patch_lock = threading.Lock()


def _request_context(request: Any, service: str) -> dict[str, str]:
    context = {"aws:SecureTransport": "false"}  # the local endpoint is plain HTTP
    if service == "s3":
        query = parse_qs(urlsplit(request._path).query, keep_blank_values=True)
        if "prefix" in query:
            context["s3:prefix"] = query["prefix"][0]
    return context


def _resource_of(request: Any, service: str, resource: str) -> str:
    """What the call acts on: moto checks Step Functions calls against ``*``; IAM checks the ARN."""
    if resource != "*" or service != "states":
        return resource
    try:
        body = json.loads(request._body or b"{}")
    except ValueError:
        return resource
    for key in ("executionArn", "stateMachineArn"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return resource


def _principal_of(request: Any) -> Principal:
    arn = str(request._access_key.arn)
    by_arn: dict[str, Principal] = _state["principals"]
    for principal in by_arn.values():
        if arn == principal.arn or arn.startswith(
            f"arn:aws:sts::{principal.arn.split(':')[4]}:assumed-role/{principal.name}/"
        ):
            return principal
    from moto.core.exceptions import AccessDeniedError

    raise AccessDeniedError(user_arn=arn, action="any action: not a principal of the local stack")


def _check(self: Any, resource: str) -> None:
    """moto's ``IAMRequestBase.check_action_permitted``, decided by :func:`evaluate`."""
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    service, action = self._action.split(":", 1)
    if self._action == "sts:GetCallerIdentity":
        return
    if self._action == "sts:AssumeRole":
        _authorize_assume_role(self, _principal_of(self))
    is_s3 = isinstance(self, S3IAMRequest)
    faults = _state["faults"]
    if is_s3 and faults is not None:
        injected = faults.take_s3_error(action)
        if injected:
            raise S3ClientError(*injected)
    resource = _resource_of(self, service, resource)
    principal = _principal_of(self)
    context = _request_context(self, service)
    if is_s3:
        _authorize_s3(principal, self._action, resource, context)
        return
    decision = principal.allows(self._action, resource, context)
    if decision != ALLOW:
        message = denial_message(principal.caller, self._action, resource, decision)
        if self._headers.get("X-Amz-Target"):  # a JSON-protocol service (Step Functions, ...): JSON error
            denied = JsonRESTError("AccessDeniedException", message)
            denied.code = 403
            raise denied
        error = AccessDeniedError(user_arn=principal.caller, action=self._action)
        error.message = message
        raise error


def _authorize_assume_role(request: Any, caller: Principal) -> None:
    """STS's rule besides the caller's own policies: the role's trust policy must name the caller.
    The template's roles trust a service (Lambda, ECS tasks, Step Functions) only, so no user's
    keys, the operator's included, can take a function's role (issue 27, item 4)."""
    from moto.core.exceptions import AccessDeniedError

    given = (getattr(request, "_data", None) or {}).get("RoleArn", "")
    wanted = str(given[0] if isinstance(given, list) and given else given)
    role = next((p for p in _state["principals"].values() if p.arn == wanted and p.trust), None)
    if role is None:
        return
    trusted = [
        principal
        for statement in role.trust.get("Statement", [])
        if statement.get("Effect") == "Allow"
        for kind, principal in (statement.get("Principal") or {}).items()
        if kind == "AWS"
    ]
    names = {str(p) for value in trusted for p in (value if isinstance(value, list) else [value])}
    if "*" in names or caller.arn in names or caller.caller in names:
        return
    raise AccessDeniedError(user_arn=caller.caller, action=f"sts:AssumeRole on resource: {wanted}")


def _unsigned(request: Any) -> Exception:
    """AWS's answer to a request with no signature: 403. moto's server routes a request without
    an ``Authorization`` header to S3 (the credential scope names the service), which answers an
    anonymous caller of a private bucket ``AccessDenied``; a JSON service, ``MissingAuthenticationToken``."""
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    if isinstance(request, S3Response):
        return S3ClientError("AccessDenied", "Access Denied")
    if request.headers.get("X-Amz-Target"):
        denied = JsonRESTError("MissingAuthenticationTokenException", "Missing Authentication Token")
        denied.code = 403
        return denied
    refused = AccessDeniedError(user_arn="anonymous", action="")
    refused.message = "Request is missing Authentication Token"
    return refused


def _authorize_s3(principal: Principal, action: str, resource: str, context: dict[str, str]) -> None:
    """S3's decision on a signed or presigned request: the principal's policies, then S3's own
    rule that a missing key is 404 only to a caller who may list the bucket (403 otherwise)."""
    from moto.s3.exceptions import S3ClientError

    decision = principal.allows(action, resource, context)
    if decision != ALLOW:
        raise S3ClientError("AccessDenied", denial_message(principal.caller, action, resource, decision))
    if action == "s3:GetObject" and ":::" in resource and "/" in resource.split(":::", 1)[1]:
        bucket, key = resource.split(":::", 1)[1].split("/", 1)
        exists: Callable[[str, str], bool] = _state["s3_exists"]
        if not exists(bucket, key):
            bucket_arn = f"arn:aws:s3:::{bucket}"
            listing = principal.allows("s3:ListBucket", bucket_arn, {**context, "s3:prefix": key})
            if listing != ALLOW:
                raise S3ClientError(
                    "AccessDenied", denial_message(principal.caller, "s3:ListBucket", bucket_arn, listing)
                )


def _authorize_presigned(response: Any, resource: str) -> None:
    """A presigned S3 URL: its key's principal must be allowed the action, and it must not have
    expired (its signature is not recomputed locally: ``docs/decisions.md``)."""
    from datetime import UTC, datetime, timedelta

    from moto.s3.exceptions import S3ClientError

    query = response.querystring
    if "X-Amz-Credential" in query:  # SigV4 query form
        key_id = query["X-Amz-Credential"][0].split("/", 1)[0]
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = signed + timedelta(seconds=int(query.get("X-Amz-Expires", ["3600"])[0]))
    else:  # SigV2 query form (what botocore presigns with for a custom endpoint)
        key_id = query["AWSAccessKeyId"][0]
        expires = datetime.fromtimestamp(int(query["Expires"][0]), UTC)
    if datetime.now(UTC) > expires:
        raise S3ClientError("AccessDenied", "Request has expired")
    principal = next((p for p in _state["principals"].values() if p.credentials.get("AccessKeyId") == key_id), None)
    if principal is None:
        raise S3ClientError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    _authorize_s3(principal, f"s3:{response._get_action()}", resource, {"aws:SecureTransport": "false"})


def _authenticate(original: Callable[..., None]) -> Callable[..., None]:
    def authenticate(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        query = getattr(self, "querystring", None) or {}
        if "Authorization" not in self.headers and ("X-Amz-Credential" in query or "AWSAccessKeyId" in query):
            _authorize_presigned(self, resource)
            return
        if "Authorization" not in self.headers:
            raise _unsigned(self)
        original(self, iam_request_cls, resource)

    return authenticate


def _signature_check(original: Callable[[Any], None]) -> Callable[[Any], None]:
    """moto's SigV4 check, for the REST-JSON services too: moto rebuilds a Lambda request without
    its path's trailing slash and with its headers as a body, so every signed ``lambda`` call was
    ``SignatureDoesNotMatch``. A request without a body is checked as it was signed: empty, and
    under its path as sent; a wrong key or secret still fails."""

    def check(self: Any) -> None:
        try:
            original(self)
            return
        except Exception:
            if self._body or self._method not in {"GET", "HEAD", "DELETE"}:
                raise
        path, data = self._path, self._data
        try:
            for candidate in (path, path + "/"):
                self._path, self._data = candidate, b""
                try:
                    original(self)
                    return
                except Exception:  # the next form of the path
                    continue
        finally:
            self._path, self._data = path, data
        original(self)  # the check's own error

    return check


def _s3_key_exists(bucket: str, key: str) -> bool:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    found = backend.buckets.get(bucket)
    return found is not None and key in found.keys


@contextmanager
def enforce(principals: dict[str, Principal], faults: Any = None) -> Iterator[None]:
    """moto authenticates and authorizes every request, with :func:`evaluate`, inside the block."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase

    mixin = ActionAuthenticatorMixin
    with _patch_lock:
        saved = (
            IAMRequestBase.check_action_permitted,
            mixin._authenticate_and_authorize_action,
            settings.INITIAL_NO_AUTH_ACTION_COUNT,
            dict(_state),
            IAMRequestBase.check_signature,
        )
        _state.update(principals=principals, s3_exists=_s3_key_exists, faults=faults)
        IAMRequestBase.check_action_permitted = _check  # type: ignore[method-assign]
        IAMRequestBase.check_signature = _signature_check(saved[4])  # type: ignore[method-assign,assignment]
        mixin._authenticate_and_authorize_action = _authenticate(saved[1])  # type: ignore[method-assign]
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        yield
    finally:
        with _patch_lock:
            IAMRequestBase.check_action_permitted = saved[0]  # type: ignore[method-assign]
            IAMRequestBase.check_signature = saved[4]  # type: ignore[method-assign]
            mixin._authenticate_and_authorize_action = saved[1]  # type: ignore[method-assign]
            settings.INITIAL_NO_AUTH_ACTION_COUNT = saved[2]
            _state.clear()
            _state.update(saved[3])


def role_principals(resolver: Any) -> dict[str, Principal]:
    """Each ``AWS::IAM::Role`` of the translated template, its inline policies resolved locally.

    AWS-managed policies (CloudWatch Logs, X-Ray, ECR pulls) grant nothing the local stack
    calls, so only their ARNs are kept (``Principal.policies`` holds the inline ones).
    """
    principals = {}
    for name, resource in resolver.resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        policies = resolver.resolve(resource["Properties"].get("Policies", []))
        trust = resolver.resolve(resource["Properties"].get("AssumeRolePolicyDocument", {}))
        principals[name] = Principal(name, role_arn(name), [p["PolicyDocument"] for p in policies], trust=trust)
    return principals


ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def provision(iam: Any, sts: Any, principals: dict[str, Principal], operator: str) -> Principal:
    """Create the roles in moto's IAM, assume each (credentials on its principal), and an
    administrator user for the operator; returns the operator (made before enforcement starts)."""
    for principal in principals.values():
        # the template's trust policy (a service): the stack takes each role for its service, as
        # Lambda, ECS and Step Functions do, before enforcement starts; no user can later
        trust = principal.trust or {"Version": "2012-10-17", "Statement": []}
        iam.create_role(RoleName=principal.name, AssumeRolePolicyDocument=json.dumps(trust))
        for index, policy in enumerate(principal.policies):
            # IAM takes a policy without a Version (SAM writes them so); moto's validator wants one
            document = json.dumps({"Version": "2012-10-17", **policy})
            iam.put_role_policy(RoleName=principal.name, PolicyName=f"policy{index}", PolicyDocument=document)
        assumed = sts.assume_role(RoleArn=principal.arn, RoleSessionName=f"local-{principal.name}")
        principal.credentials = assumed["Credentials"]
        principal.session_arn = assumed["AssumedRoleUser"]["Arn"]
    user = iam.create_user(UserName=operator)["User"]
    iam.put_user_policy(UserName=operator, PolicyName="administrator", PolicyDocument=json.dumps(ADMINISTRATOR))
    keys = iam.create_access_key(UserName=operator)["AccessKey"]
    admin = Principal(operator, user["Arn"], [ADMINISTRATOR], {k: keys[k] for k in ("AccessKeyId", "SecretAccessKey")})
    return admin
