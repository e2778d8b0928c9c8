"""template.yaml and statemachine/pipeline.asl.json read together, and moto's known gaps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pavi.cli import build_parser
from pavi.local.template import StackModel, states_of

REPO = Path(__file__).resolve().parents[2]
# Actions whose IAM resource can only be "*" (no resource-level permissions exist for them).
STAR_ONLY_ACTIONS = {
    "batch:DescribeJobs",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


@pytest.fixture(scope="module")
def model() -> StackModel:
    return StackModel.load(REPO)


@pytest.fixture(scope="module")
def asl(model: StackModel) -> dict[str, Any]:
    path, _ = model.state_machine()
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Task state, inside Map iterations and Parallel branches too."""
    return [state for _, _, state in states_of({"States": states}) if state["Type"] == "Task"]


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used(model: StackModel) -> None:
    path, substitutions = model.state_machine()
    placeholders = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
    assert placeholders == set(substitutions)


def test_every_lambda_the_state_machine_calls_may_be_invoked_by_it(model: StackModel, asl: dict[str, Any]) -> None:
    _, substitutions = model.state_machine()
    policies = model.resources["PipelineStateMachine"]["Properties"]["Policies"]
    invokable = {p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in policies if "LambdaInvokePolicy" in p}
    called = set()
    for task in tasks(asl["States"]):
        if task["Resource"] == "arn:aws:states:::lambda:invoke":
            key = re.fullmatch(r"\$\{(\w+)\}", task["Parameters"]["FunctionName"])
            assert key, task
            called.add(substitutions[key[1]]["Fn::GetAtt"][0])
    assert called == set(model.functions()) - {"ApiFunction", "PictureFunction"} == invokable  # those two: the API's


def test_every_job_definition_command_is_one_the_cli_accepts(model: StackModel, asl: dict[str, Any]) -> None:
    _, substitutions = model.state_machine()
    definitions = model.job_definitions()
    submitted = {}
    for task in tasks(asl["States"]):
        if task["Resource"] == "arn:aws:states:::batch:submitJob.sync":
            key = re.fullmatch(r"\$\{(\w+)\}", task["Parameters"]["JobDefinition"])
            assert key, task
            submitted[substitutions[key[1]]["Ref"]] = {k.removesuffix(".$") for k in task["Parameters"]["Parameters"]}
    assert set(submitted) == set(definitions)
    for name, spec in definitions.items():
        refs = {part.removeprefix("Ref::") for part in spec.command if part.startswith("Ref::")}
        assert refs == submitted[name] == set(spec.defaults), name  # the ASL fills every Ref:: the command has
        command = [spec.defaults[p[5:]] if p.startswith("Ref::") else p for p in spec.command]
        args = build_parser().parse_args(command)  # exits (SystemExit) on a command the CLI does not take
        assert args.handler.__name__ == f"cmd_{command[0].replace('-', '_')}"


def test_iam_statements_name_their_resources(model: StackModel) -> None:
    statements = []
    for resource in model.resources.values():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            if isinstance(policy, dict):
                document = policy.get("PolicyDocument", policy)
                statements += document.get("Statement", []) if isinstance(document, dict) else []
    assert statements
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "*" in resources:
            assert set(actions) <= STAR_ONLY_ACTIONS, statement
        assert not any(action.endswith(":*") or action == "*" for action in actions), statement


def test_no_function_carries_what_it_does_not_use(model: StackModel) -> None:
    """Function folders hold only app.py; Biopython (with numpy) is in a layer of its own that
    only the three functions reading FASTA and Clustal files get; boto3 is the runtime's (the
    alignment function is the alignment image, which has what it needs)."""
    for spec in model.functions().values():
        assert not (spec.code_dir / "requirements.txt").exists(), spec.code_dir
        assert sorted(p.name for p in spec.code_dir.iterdir() if p.suffix == ".py") == ["app.py"]
    for name in ("PaviLayer", "BioLayer"):
        layer = model.resources[name]
        assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
        requirements = (REPO / layer["Properties"]["ContentUri"] / "requirements.txt").read_text()
        pins = [line.split("==")[0] for line in requirements.splitlines() if line and not line.startswith("#")]
        assert ("boto3" not in pins and "biopython" not in pins) or name == "BioLayer", (name, pins)
    with_bio = {
        n for n, r in model.resources.items() if {"Ref": "BioLayer"} in r.get("Properties", {}).get("Layers", [])
    }
    assert with_bio == {"RetrieveFunction", "PrepareAlignmentFunction", "CollectResultsFunction"}
    # every module of the package (it was only the top level's, which holds none since the split)
    scanned = list((REPO / "src" / "pavi").rglob("*.py"))
    assert len(scanned) > 40
    at_top = {
        str(source.relative_to(REPO / "src" / "pavi"))
        for source in scanned
        if any(
            line.startswith(("from Bio", "import Bio", "import numpy", "from numpy"))
            for line in source.read_text().splitlines()
        )
    }
    assert at_top == {"domain/alignment.py", "domain/consequence.py", "domain/transcripts.py"}, at_top


def test_each_function_imports_its_handler_with_only_its_layers(model: StackModel) -> None:
    """Issue 27, item 5: every zip function's handler imports in a process that can import only the
    standard library, its code and its layers (pavi.local.layers), as Lambda builds it; and a
    function without BioLayer cannot import Biopython there."""
    import subprocess
    import sys

    script = (
        "import sys, importlib.util\n"
        "from pathlib import Path\n"
        "from pavi.local.layers import LayerGuard\n"
        "code, handler, allowed, probe = sys.argv[1], sys.argv[2], frozenset(sys.argv[3].split(',')), sys.argv[4]\n"
        "sys.meta_path.insert(0, LayerGuard(allowed, code))\n"
        "from pavi.local.lambda_worker import load_module_handler\n"
        "load_module_handler(Path(code), handler)\n"
        "try:\n"
        "    __import__(probe)\n"
        "    print('probe imported')\n"
        "except ModuleNotFoundError as error:\n"
        "    print('probe refused:', error)\n"
    )
    env = {"PAVI_BUCKET": "b", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    for name, spec in model.functions().items():
        if spec.importable is None:  # the image function: its image holds what it needs
            continue
        done = subprocess.run(
            [sys.executable, "-c", script, str(spec.code_dir), spec.handler, ",".join(spec.importable), "Bio.Seq"],
            capture_output=True, text=True, env={**env, "PATH": "/usr/bin:/bin"}, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, (name, done.stderr[-1500:])
        with_bio = "Bio" in spec.importable
        assert ("probe imported" if with_bio else "probe refused: No module named 'Bio'") in done.stdout, name


def test_moto_batch_sync_still_does_not_convert_casing() -> None:
    """DESIGN.md section 5: moto's Batch .sync integration passes the ASL's PascalCase
    parameters as they are (Step Functions converts them). pavi.local converts them; when
    moto starts converting, this fails and the shim can go."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
        StateTaskServiceBatch,
    )

    parameters = {"JobName": "j", "JobQueue": "q", "JobDefinition": "d", "Parameters": {"entry": "e"}}
    before = json.loads(json.dumps(parameters))
    StateTaskServiceBatch()._normalise_parameters(parameters)
    assert parameters == before


def test_the_events_are_what_the_state_machine_and_the_functions_take(model: StackModel) -> None:
    """events/ holds a `sam local invoke` event per function and inputs for start-execution."""
    import tomllib

    from pavi.aws.lambda_handlers import StepEvent, ValidateEvent
    from pavi.domain.request import parse_job

    events = REPO / "events"
    for spec in model.functions().values():
        name = spec.code_dir.name
        event = json.loads((events / f"{name}.json").read_text())
        if name == "api":  # an API Gateway proxy event: POST of the API body
            assert (event["httpMethod"], event["path"]) == ("POST", "/api/pipeline-job/")
            assert len(parse_job(json.loads(event["body"])).seq_regions) == 6
            continue
        if name == "pictures":  # an API Gateway proxy event: GET of a job's picture
            assert event["httpMethod"] == "GET" and event["path"].endswith("/result/picture")
            continue
        parsed = (ValidateEvent if name == "validate" else StepEvent).model_validate(event)
        if isinstance(parsed, ValidateEvent):
            assert len(parse_job(parsed.input).seq_regions) == 6
        else:
            assert parsed.state["job_id"] and parsed.state["store"].startswith("s3://")
    assert len(parse_job(json.loads((events / "start-execution.json").read_text())).seq_regions) == 6
    assert len(parse_job(json.loads((events / "api-create-job.json").read_text())).seq_regions) == 6
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    assert {"default", "dev", "prod"} <= set(config)
    for environment in ("dev", "prod"):
        overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
        names = {item.split("=")[0] for item in overrides.split()}
        assert names <= set(model.template["Parameters"]), names
