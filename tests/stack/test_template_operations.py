"""What a careful operator expects of the template (issue 12), read in its CloudFormation
translation with the local resolver: Fargate's vCPU/memory pairs, Spot with an on-demand
fallback, time-outs that bound a job that never starts, CORS for the API's redirects,
per-stack layer names, the alarms and a dashboard that is valid JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pavi.local.cloudformation import Resolver, translate
from pavi.local.template import StackModel

REPO = Path(__file__).resolve().parents[2]
# AWS Batch's documented Fargate pairs: vCPU -> MiB
FARGATE = {
    "0.25": {512, 1024, 2048},
    "0.5": {1024, 2048, 3072, 4096},
    "1": set(range(2048, 8193, 1024)),
    "2": set(range(4096, 16385, 1024)),
    "4": set(range(8192, 30721, 1024)),
    "8": set(range(16384, 61441, 4096)),
    "16": set(range(32768, 122881, 8192)),
}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    model = StackModel.load(REPO)
    return translate(model.template, model.root)


def resolver(translated: dict[str, Any], **parameters: Any) -> Resolver:
    return Resolver(translated, parameters)


def rules_hold(translated: dict[str, Any], **parameters: Any) -> bool:
    r = resolver(translated, **parameters)
    return all(
        r.resolve(assertion["Assert"]) for rule in translated["Rules"].values() for assertion in rule["Assertions"]
    )


@pytest.mark.parametrize(
    ("vcpu_parameter", "memory_parameter"), [("RetrievalVcpu", "RetrievalMemory"), ("AlignmentVcpu", "AlignmentMemory")]
)
def test_the_rules_accept_exactly_fargates_vcpu_memory_pairs(
    translated: dict[str, Any], vcpu_parameter: str, memory_parameter: str
) -> None:
    parameters = translated["Parameters"]
    for vcpu in parameters[vcpu_parameter]["AllowedValues"]:
        for memory in parameters[memory_parameter]["AllowedValues"]:
            accepted = rules_hold(translated, **{vcpu_parameter: vcpu, memory_parameter: memory})
            assert accepted == (int(memory) in FARGATE[vcpu]), (vcpu, memory)
    assert rules_hold(translated)  # the defaults are a valid pair


def test_spot_capacity_falls_back_to_on_demand(translated: dict[str, Any]) -> None:
    for capacity, expected in (("FARGATE_SPOT", ["FARGATE_SPOT", "FARGATE"]), ("FARGATE", ["FARGATE"])):
        r = resolver(translated, FargateCapacity=capacity)
        order = r.resolve(r.resources["BatchJobQueue"]["Properties"]["ComputeEnvironmentOrder"])
        kinds = [
            r.resolve(r.resources[item["ComputeEnvironment"]]["Properties"]["ComputeResources"]["Type"])
            for item in sorted(order, key=lambda item: item["Order"])
        ]
        assert kinds == expected


def test_each_batch_task_times_out_after_its_attempts_and_a_bounded_wait_in_the_queue(
    translated: dict[str, Any],
) -> None:
    asl = json.loads((REPO / "statemachine" / "pipeline.asl.json").read_text())
    # the retrieval array's children may also wait for each other's vCPUs: 30 min for both
    batch_tasks = {
        "RetrieveSequences": ("RetrievalJobDefinition", 1800),
        "AlignProteins": ("AlignmentJobDefinition", 900),
    }
    for state, (job_definition, waiting) in batch_tasks.items():
        properties = translated["Resources"][job_definition]["Properties"]
        attempts = properties["RetryStrategy"]["Attempts"] * properties["Timeout"]["AttemptDurationSeconds"]
        timeout = asl["States"][state]["TimeoutSeconds"]
        assert attempts < timeout <= attempts + waiting, (state, attempts, timeout)


def test_the_lambda_tasks_retry_every_lambda_service_error(translated: dict[str, Any]) -> None:
    asl = json.loads((REPO / "statemachine" / "pipeline.asl.json").read_text())
    service_errors = {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.TooManyRequestsException",
    }
    for name, state in asl["States"].items():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke" and name != "RecordFailure":
            retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
            assert service_errors <= retried or "States.ALL" in retried, name


def test_the_bucket_answers_cors_for_the_api_origins_only(translated: dict[str, Any]) -> None:
    none = resolver(translated).resolve(translated["Resources"]["JobBucket"]["Properties"])
    assert "CorsConfiguration" not in none
    origins = "https://pavi.example.org,https://other.example.org"
    bucket = resolver(translated, CorsOrigins=origins).resolve(translated["Resources"]["JobBucket"]["Properties"])
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == origins.split(",") and set(rule["AllowedMethods"]) == {"GET", "HEAD"}


def test_layer_names_are_the_stacks_own(translated: dict[str, Any]) -> None:
    r = resolver(translated)
    names = [
        r.resolve(resource["Properties"]["LayerName"])
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert names and all(name.startswith("pavi-") for name in names) and len(set(names)) == len(names)


def test_the_api_function_and_the_apis_5xx_are_alarmed(translated: dict[str, Any]) -> None:
    r = resolver(translated)
    alarms = [
        r.resolve(a["Properties"]) for a in translated["Resources"].values() if a["Type"] == "AWS::CloudWatch::Alarm"
    ]
    watched = {(a.get("Namespace"), a.get("MetricName"), json.dumps(a.get("Dimensions"))) for a in alarms}
    assert ("AWS/Lambda", "Errors", json.dumps([{"Name": "FunctionName", "Value": "ApiFunction"}])) in watched
    assert any(ns == "AWS/ApiGateway" and metric == "5XXError" and "pavi-api" in dims for ns, metric, dims in watched)
    assert all(a["AlarmActions"] == ["AlarmTopic"] for a in alarms)


def test_a_broken_lambda_lane_alarms_and_shows(translated: dict[str, Any]) -> None:
    """Issue 23, item 4: the Lambda lane's functions are in the errors alarm and on the
    dashboard, and the fallbacks themselves alarm (all of them, and configuration errors)."""
    r = resolver(translated)
    errors = r.resolve(translated["Resources"]["LambdaErrorsAlarm"]["Properties"])
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for m in errors["Metrics"] if "MetricStat" in m}
    assert {"RetrieveFunction", "AlignFunction"} <= watched
    expression = next(m["Expression"] for m in errors["Metrics"] if "Expression" in m)
    assert {"retrieve", "align"} <= set(expression.replace("+", " ").split())
    alarms = {
        a["Properties"].get("MetricName")
        for a in translated["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {"LambdaLaneFallbacksAll", "LambdaLaneConfigurationErrors"} <= alarms
    body = r.resolve(translated["Resources"]["Dashboard"]["Properties"]["DashboardBody"])
    for shown in ("RetrieveFunction", "AlignFunction", "LambdaLaneFallbacks", "pavi-express"):
        assert shown in body, shown


def test_the_dashboard_is_valid_json_with_every_widget_the_design_asks_for(translated: dict[str, Any]) -> None:
    r = resolver(translated)
    body = json.loads(r.resolve(translated["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))
    rows = [row for widget in body["widgets"] for row in widget["properties"]["metrics"]]
    metrics = {name for row in rows for name in row[:2] if isinstance(name, str) and name not in {".", "..."}}
    for needed in (
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionTime",
        "Errors",
        "Duration",
        "ServiceIntegrationsFailed",
        "4XXError",
        "5XXError",
        "Latency",
    ):
        assert needed in metrics, needed


def test_a_deployment_needs_an_api_key_with_a_daily_quota_by_default(translated: dict[str, Any]) -> None:
    """Issue 14, item 4: no open API by default; the key's usage plan has a quota."""
    r = resolver(translated)
    assert r.parameters["ApiAuth"] == "API_KEY" and r.condition("ApiKey")
    plan = r.resolve(translated["Resources"]["ApiUsagePlan"]["Properties"])
    assert (int(plan["Quota"]["Limit"]), plan["Quota"]["Period"]) == (50000, "DAY")
    routes = r.resolve(translated["Resources"]["PaviApi"]["Properties"]["Body"]["paths"])
    for path, operations in routes.items():
        for method, operation in operations.items():
            public = method == "options" or path in {"/openapi.json", "/api/docs", "/docs"}
            assert (operation["security"] == []) == public, (method, path)


def test_the_alignment_role_reaches_its_own_files_only_and_logs_hold_no_request(translated: dict[str, Any]) -> None:
    """Issue 14, item 6 (docs/decisions.md §21)."""
    r = resolver(translated)
    role = r.resolve(translated["Resources"]["AlignmentJobRole"]["Properties"])
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    resources = {
        (str(s["Action"]), resource.split(":::", 1)[1].split("/", 1)[1])
        for s in statements
        for resource in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert resources == {
        ("s3:GetObject", "results/*/alignment-input.fa"),
        ("s3:PutObject", "results/*/alignment-output.aln"),
        ("s3:PutObject", "results/*/guide-tree.dnd"),  # issue 21: the guide tree of the same run
        ("s3:PutObject", "work/*/alignment-error.txt"),
        ("s3:PutObject", "work/*/alignment-run.json"),  # and its account, for the job's provenance
    }
    machine = r.resolve(translated["Resources"]["PipelineStateMachine"]["Properties"])
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
