"""CloudFormation for one machine: the template as SAM translates it, with its intrinsics
resolved to the local stack's names.

:func:`translate` runs SAM's own translator (``samtranslator``, the library ``sam deploy``'s
transform uses) offline: every ``AWS::Serverless::*`` resource becomes what CloudFormation
would create, SAM policy templates (``LambdaInvokePolicy``...) expanded into the roles'
statements. :class:`Resolver` then evaluates ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::Join``, ``Fn::Split``, ``Fn::Select``, ``Fn::If`` and the conditions with the
template's parameter defaults (and the local stack's overrides), naming each resource as
the local stack does: the bucket ``pavi-local``, a function by its logical ID, a role by its
logical ID, a job definition by the Batch host's ARN.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from pavi.local.container import memory_of
from pavi.local.template import ACCOUNT, QUEUE_ARN, REGION

STACK_NAME = "pavi"
LOCAL_BUCKET = "pavi-local"
PARTITION = "aws"
# What a local deployment passes for the parameters that have no default or name AWS-only things.
LOCAL_PARAMETERS: dict[str, Any] = {
    "RetrievalImageUri": "local/pavi-seq-retrieval:dev",
    "AlignmentImageUri": "local/pavi-alignment@sha256:" + "0" * 64,  # pinned, as the template demands
    "SubnetIds": ["subnet-local"],
    "SecurityGroupIds": ["sg-local"],
    "FastaAllowList": "",  # local files and hosts: PAVI_FASTA_ALLOWLIST, when set, overrides it
}
NO_VALUE = object()

TRANSLATOR = "aws-sam-translator==1.115.0"  # keep in step with pyproject.toml: part of the cache key
_translations: dict[str, dict[str, Any]] = {}
_translate_lock = threading.Lock()


class TemplateError(ValueError):
    """The template cannot be translated or resolved as CloudFormation would."""


def translate(template: dict[str, Any], root: Path) -> dict[str, Any]:
    """The template as plain CloudFormation, translated by SAM (cached by content, in this
    process and in ``~/.cache/pavi/sam-translations``).

    Code locations become placeholder S3 URIs, as ``sam package`` would make them, and the state
    machine's ``DefinitionUri`` is inlined as its ``Definition``.
    """
    template = copy.deepcopy(template)
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://sam-artifacts/{name}.zip"
        if isinstance(properties.get("DefinitionUri"), str):
            properties["Definition"] = json.loads((root / properties.pop("DefinitionUri")).read_text())
    key = hashlib.sha256(json.dumps([TRANSLATOR, template], sort_keys=True).encode()).hexdigest()
    with _translate_lock:
        if key not in _translations:
            _translations[key] = _cached(key) or _transform(template)
            _store(key, _translations[key])
        return copy.deepcopy(_translations[key])


def _cache_file(key: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pavi" / "sam-translations" / f"{key}.json"


def _cached(key: str) -> dict[str, Any] | None:
    """A translation made before (by any process) of the same template with the same translator."""
    try:
        cached: dict[str, Any] = json.loads(_cache_file(key).read_text())
        return cached
    except (OSError, ValueError):
        return None


def _store(key: str, translated: dict[str, Any]) -> None:
    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(translated))
        temporary.replace(path)
    except OSError:
        pass  # no cache: the next run translates again


def _transform(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    aws = "arn:aws:iam::aws:policy/"
    managed = {
        "AWSLambdaBasicExecutionRole": aws + "service-role/AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess": aws + "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess": aws + "AWSXRayDaemonWriteAccess",
    }

    class StaticPolicies:  # the managed-policy ARNs SAM would look up with IAM
        def load(self) -> dict[str, str]:
            return managed

    import logging

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its feature-toggle notices
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # SAM asks boto for the region
    try:
        translated: dict[str, Any] = transform(template, {}, StaticPolicies())
    except Exception as error:
        raise TemplateError(f"SAM could not translate template.yaml: {error}") from error
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
    return translated


def function_arn(name: str) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"


def job_definition_arn(name: str) -> str:
    return f"arn:{PARTITION}:batch:{REGION}:{ACCOUNT}:job-definition/{name}:1"


def role_arn(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


def role_name_of(arn: str) -> str:
    match = re.match(r"arn:[^:]+:iam::\d+:role/(?:.*/)?([^/]+)$", arn)
    if not match:
        raise ValueError(f"{arn} is not a role ARN")
    return match[1]


class Resolver:
    """Evaluates a translated template's intrinsics with local names for its resources."""

    def __init__(self, translated: dict[str, Any], overrides: dict[str, Any] | None = None):
        self.template = translated
        self.resources: dict[str, Any] = translated.get("Resources", {})
        self.parameters: dict[str, Any] = {}
        for name, spec in translated.get("Parameters", {}).items():
            value = {**LOCAL_PARAMETERS, **(overrides or {})}.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no default and no local value")
            if spec.get("Type", "").startswith(("List<", "CommaDelimitedList")) and isinstance(value, str):
                value = [item.strip() for item in value.split(",")] if value else []
            self.parameters[name] = value
        self.conditions: dict[str, bool] = {}
        for name in translated.get("Conditions", {}):
            self.condition(name)

    # -- names
    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/local",
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"Ref to {name!r}, which is neither a parameter nor a resource")
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            return LOCAL_BUCKET
        if kind == "AWS::Batch::JobDefinition":
            return job_definition_arn(name)
        if kind == "AWS::Batch::JobQueue":
            return QUEUE_ARN
        if kind == "AWS::StepFunctions::StateMachine":
            machine = self.resolve(resource["Properties"].get("StateMachineName", name))
            return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(resource["Properties"].get("LogGroupName", name))
        return name  # functions, roles, topics, keys...: the logical ID is the local physical name

    def get_att(self, name: str, attribute: str) -> Any:
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"Fn::GetAtt of {name!r}, which is not a resource")
        kind = resource["Type"]
        if attribute == "Arn":
            if kind == "AWS::S3::Bucket":
                return f"arn:{PARTITION}:s3:::{LOCAL_BUCKET}"
            if kind == "AWS::Lambda::Function":
                return function_arn(name)
            if kind == "AWS::IAM::Role":
                return role_arn(name)
            if kind == "AWS::Logs::LogGroup":
                return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{self.ref(name)}:*"
            if kind == "AWS::SQS::Queue":
                return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
        return f"{name}.{attribute}"

    # -- conditions and values
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic evaluated; ``AWS::NoValue`` removes the key or item."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return str(self.get_att(resource, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def _select(resolver: Resolver, argument: Any) -> Any:
    index, items = resolver.resolve(argument[0]), resolver.resolve(argument[1])
    return items[int(index)]


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": lambda r, a: r.get_att(*(a.split(".", 1) if isinstance(a, str) else a)),
    "Fn::Sub": lambda r, a: r.sub(a),
    "Fn::Join": lambda r, a: str(r.resolve(a[0])).join(str(v) for v in r.resolve(a[1])),
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(r.resolve(a[0])),
    "Fn::Select": _select,
    "Fn::If": _if,
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(v) for v in a),
    "Fn::Or": lambda r, a: any(r.resolve(v) for v in a),
    "Fn::Contains": lambda r, a: r.resolve(a[1]) in r.resolve(a[0]),
    "Condition": lambda r, a: r.condition(a),
}


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, list):  # Batch: [{Name, Value}]
        value = {item["Name"]: item.get("Value", "") for item in value}
    return {str(k): str(v) for k, v in (value or {}).items()}


def deployed_functions(resolver: Resolver, functions: dict[str, Any]) -> dict[str, Any]:
    """The template's functions as deployed: environment, time-out, memory and role resolved."""
    from dataclasses import replace

    deployed = {}
    for name, spec in functions.items():
        properties = resolver.resolve(resolver.resources[name]["Properties"])
        deployed[name] = replace(
            spec,
            environment=_environment(properties.get("Environment", {}).get("Variables")),
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            role=role_name_of(str(properties["Role"])),
        )
    return deployed


def deployed_job_definitions(resolver: Resolver, definitions: dict[str, Any], root: Path) -> dict[str, Any]:
    """The job definitions as deployed: environment, role, root filesystem and volumes resolved."""
    from dataclasses import replace

    deployed = {}
    for name, spec in definitions.items():
        resource = resolver.resources[name]
        container = resolver.resolve(resource["Properties"]["ContainerProperties"])
        dockerfile = resource.get("Metadata", {}).get("Dockerfile")
        deployed[name] = replace(
            spec,
            environment=_environment(container.get("Environment")),
            role=role_name_of(str(container["JobRoleArn"])) if container.get("JobRoleArn") else "",
            readonly_root=bool(container.get("ReadonlyRootFilesystem", False)),
            mounts=tuple(
                (m["ContainerPath"], bool(m.get("ReadOnly", False))) for m in container.get("MountPoints", [])
            ),
            dockerfile=root / dockerfile if dockerfile else None,
            memory=memory_of(container.get("ResourceRequirements")),
        )
    return deployed
