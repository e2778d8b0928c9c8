"""What ``template.yaml`` says, read as the local stack needs it.

:class:`StackModel` reads the SAM template (short intrinsic tags as their long forms) and
gives the functions (code folder, handler, plain environment, time-out), the Batch job
definitions (command with its ``Ref::`` parameters, retry strategy, attempt time-out,
environment) and the state machine's definition with its ``${...}`` filled with the local
stand-ins' ARNs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pavi.local.layers import importable as layers_importable
from pavi.local.layers import layer_of

REGION = "us-east-1"
ACCOUNT = "123456789012"
STATE_MACHINE_RESOURCE = "PipelineStateMachine"
EXPRESS_MACHINE_RESOURCE = "ExpressStateMachine"  # the synchronous workflow (issue 22)
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/pavi-local"


def project_root() -> Path:
    """The checkout holding ``template.yaml`` (``PAVI_PROJECT_ROOT``, else the source tree's)."""
    configured = os.environ.get("PAVI_PROJECT_ROOT")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(__file__).resolve().parents[3], Path.cwd()]  # src/pavi/local/template.py: the checkout
    for candidate in candidates:
        if (candidate / "template.yaml").is_file() and (candidate / "statemachine").is_dir():
            return candidate
    raise FileNotFoundError("template.yaml not found: run from the project's checkout or set PAVI_PROJECT_ROOT")


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation/SAM YAML template, short intrinsic tags as their long forms."""
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", intrinsic)
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=Loader)
    return loaded


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int = 512
    role: str = ""  # the execution role's name (the local stack resolves it from the translation)
    # the top-level packages its layers and the runtime give it (pavi.local.layers); None: an
    # image function, which holds what its image installs
    importable: frozenset[str] | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


@dataclass(frozen=True)
class JobDefinitionSpec:
    logical_id: str
    command: list[str]
    defaults: dict[str, str]
    attempts: int
    evaluate_on_exit: list[dict[str, str]]
    attempt_timeout: int | None
    environment: dict[str, str]
    role: str = ""  # the job role's name
    readonly_root: bool = False
    mounts: tuple[tuple[str, bool], ...] = ()  # (container path, read-only) of each mount point
    dockerfile: Path | None = None  # the image the job runs (the resource's Metadata.Dockerfile)
    memory: int | None = None  # MiB its container may use (ResourceRequirements MEMORY), None: not limited

    @property
    def arn(self) -> str:
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{self.logical_id}:1"


def _plain(environment: Any) -> dict[str, str]:
    """The variables whose values are plain strings (intrinsics are the deployment's to fill)."""
    if isinstance(environment, list):  # Batch: [{Name, Value}]
        environment = {item["Name"]: item.get("Value") for item in environment}
    return {k: str(v) for k, v in (environment or {}).items() if isinstance(v, str | int)}


@dataclass
class StackModel:
    """What the local runner needs from ``template.yaml``."""

    root: Path
    template: dict[str, Any]

    @classmethod
    def load(cls, root: Path | None = None) -> StackModel:
        root = root or project_root()
        return cls(root, load_template(root / "template.yaml"))

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def functions(self) -> dict[str, FunctionSpec]:
        defaults = self.template.get("Globals", {}).get("Function", {})
        specs = {}
        for name, resource in self.resources.items():
            raw = resource["Type"] == "AWS::Lambda::Function"  # CloudFormation's own: no Globals
            if resource["Type"] != "AWS::Serverless::Function" and not raw:
                continue
            props = resource["Properties"]
            env = {
                **({} if raw else _plain(defaults.get("Environment", {}).get("Variables"))),
                **_plain(props.get("Environment", {}).get("Variables")),
            }
            importable = None
            if "ImageConfig" in props:  # an image function: its handler file, as the image holds it
                code, handler = resource["Metadata"]["LocalCodeUri"], props["ImageConfig"]["Command"][0]
            else:
                code, handler = props["CodeUri"], props.get("Handler", defaults.get("Handler"))
                layers = [layer_of(item) for item in props.get("Layers", defaults.get("Layers", []))]
                importable = layers_importable(self.root, tuple(layer for layer in layers if layer))
            specs[name] = FunctionSpec(
                name,
                self.root / code,
                handler,
                env,
                int(props.get("Timeout", defaults.get("Timeout", 3))),
                importable=importable,
            )
        return specs

    def job_definitions(self) -> dict[str, JobDefinitionSpec]:
        specs = {}
        for name, resource in self.resources.items():
            if resource["Type"] != "AWS::Batch::JobDefinition":
                continue
            props = resource["Properties"]
            container = props["ContainerProperties"]
            retry = props.get("RetryStrategy", {})
            specs[name] = JobDefinitionSpec(
                name,
                [str(part) for part in container["Command"]],
                {k: str(v) for k, v in props.get("Parameters", {}).items()},
                int(retry.get("Attempts", 1)),
                list(retry.get("EvaluateOnExit", [])),
                props.get("Timeout", {}).get("AttemptDurationSeconds"),
                _plain(container.get("Environment")),
            )
        return specs

    def state_machine(self, resource: str = STATE_MACHINE_RESOURCE) -> tuple[Path, dict[str, Any]]:
        props = self.resources[resource]["Properties"]
        return self.root / props["DefinitionUri"], props.get("DefinitionSubstitutions", {})

    def definition(self, resource: str = STATE_MACHINE_RESOURCE, machines: dict[str, str] | None = None) -> str:
        """The ASL with its ``${...}`` filled with this runner's local ARNs (``machines``: the
        local ARN of each state machine a definition names, by logical ID)."""
        path, substitutions = self.state_machine(resource)
        text = path.read_text()
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", self.local_value(value, machines or {}))
        return text

    def local_value(self, value: Any, machines: dict[str, str] | None = None) -> str:
        """The local stand-in of a substitution's value (a function, job definition, queue or state machine ARN)."""
        functions, jobs = self.functions(), self.job_definitions()
        if isinstance(value, str):
            return value
        if "Ref" in value and value["Ref"] in (machines or {}):
            return (machines or {})[value["Ref"]]
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in functions:
            return functions[value["Fn::GetAtt"][0]].arn
        if "Ref" in value:
            name = value["Ref"]
            if name in jobs:
                return jobs[name].arn
            resource_type = self.resources.get(name, {}).get("Type")
            if resource_type == "AWS::Batch::JobQueue" or name == "JobQueueArn":
                return QUEUE_ARN
        if "Fn::If" in value:
            return self.local_value(value["Fn::If"][1])
        raise ValueError(f"no local value for the substitution {value!r}")


def states_of(machine: dict[str, Any], path: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every state of an ASL definition, inside Map iterations and Parallel branches too:
    (its path in the definition, its name, the state)."""
    for name, state in (machine.get("States") or {}).items():
        yield f"{path}/States/{name}", name, state
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from states_of(state[key], f"{path}/States/{name}/{key}")
        for index, branch in enumerate(state.get("Branches") or []):
            yield from states_of(branch, f"{path}/States/{name}/Branches[{index}]")


def functions_on_the_way_to_success(definition: dict[str, Any], functions: dict[str, FunctionSpec]) -> list[str]:
    """The functions a state machine calls outside its Catch handlers (worth warming)."""
    every = {name: state for _, name, state in states_of(definition)}
    handlers = {c["Next"] for state in every.values() for c in state.get("Catch", [])}
    called = {json.dumps(s.get("Parameters", {})) for n, s in every.items() if n not in handlers}
    return [name for name, spec in functions.items() if any(spec.arn in text for text in called)]
