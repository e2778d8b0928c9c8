"""The local stack refuses what AWS refuses: the account's prerequisites, IAM on every call
(each function and job with its own role's credentials), S3's 403 for a missing key without
s3:ListBucket, and Batch jobs run as their containers. One test per defect of the first real
deployment (issue 12), and a mutation check: taking a permission a step needs out of the
template makes a local run fail with AccessDenied naming the role and the action.

Point ``PAVI_TEST_PROJECT_ROOT`` at an earlier checkout to see these fail there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support.demo import REPO, demo_entries
from support.project import copy_project, edit, project_root

from pavi.local.account import Account, deploy_problems
from pavi.local.cloudformation import Resolver, translate
from pavi.local.stack import DeployError, EmulatedStack
from pavi.local.template import StackModel


def problems_of(root: Path, account: Account | None = None, **parameters: Any) -> list[str]:
    model = StackModel.load(root)
    return deploy_problems(Resolver(translate(model.template, model.root), parameters), account or Account())


# ---------------------------------------------------------------- defects 1, 4 and 5: the deployment


def test_defect_1_the_logging_stage_deploys_in_an_account_without_an_api_gateway_logging_role() -> None:
    problems = problems_of(project_root(), Account(api_gateway_cloudwatch_role=False))
    assert not [p for p in problems if "CloudWatch Logs role ARN must be set" in p], problems


def test_defect_1_an_account_that_has_the_role_may_keep_it_and_one_that_has_not_may_not(tmp_path: Path) -> None:
    root = project_root()
    assert problems_of(root, Account(api_gateway_cloudwatch_role=True), CreateApiGatewayAccountRole="false") == []
    refused = problems_of(root, Account(api_gateway_cloudwatch_role=False), CreateApiGatewayAccountRole="false")
    assert any("CloudWatch Logs role ARN must be set in account settings" in p for p in refused), refused
    # and the local stack, deploying into a new account, refuses such a template before it starts
    copy = copy_project(tmp_path / "project", root)
    edit(
        copy / "template.yaml",
        'Default: "true"\n    AllowedValues: ["true", "false"]',
        'Default: "false"\n    AllowedValues: ["true", "false"]',
    )
    with pytest.raises(DeployError, match="CloudWatch Logs role ARN must be set"):
        EmulatedStack(copy, log_dir=tmp_path / "logs")


def test_defect_4_every_alarm_can_notify_its_topic() -> None:
    problems = problems_of(project_root())
    assert not [p for p in problems if "never notifies" in p or "key policy" in p], problems


def test_defect_5_no_api_stage_is_deployed_without_the_v1_settings() -> None:
    problems = problems_of(project_root())
    assert not [p for p in problems if "deploys a stage named" in p], problems
    model = StackModel.load(project_root())
    translated = translate(model.template, model.root)
    stages = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert [s["Properties"]["StageName"] for s in stages] == ["v1"]


def test_the_checks_catch_each_defect_in_a_template_that_has_it(tmp_path: Path) -> None:
    """The deploy checks fail the template of before the fixes (here rebuilt from today's)."""
    copy = copy_project(tmp_path / "project")
    template = copy / "template.yaml"
    edit(template, "      KmsMasterKeyId: !Ref AlarmTopicKey\n", "      KmsMasterKeyId: alias/aws/sns\n")
    edit(template, '      OpenApiVersion: "3.0.1"\n', "")
    text = template.read_text()
    start = text.index("  ApiGatewayAccount:\n")
    end = text.index("  # DependsOn cannot name")
    template.write_text(
        text[:start] + text[end:].replace("!If [CreateApiGatewayAccount, !Ref ApiGatewayAccount, none]", "none")
    )
    problems = " | ".join(problems_of(copy))
    assert "CloudWatch Logs role ARN must be set in account settings" in problems
    assert "never notifies" in problems
    assert "deploys a stage named 'Stage'" in problems


# ---------------------------------------------------------------- IAM on every call


def client_as(stack: EmulatedStack, role: str, service: str = "s3") -> Any:
    credentials = stack.principals[role].credentials
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def error_of(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], str(error["Error"].get("Message"))


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    with EmulatedStack(project_root(), log_dir=tmp_path / "logs") as local:
        local.s3.put_object(Bucket="pavi-local", Key="work/job/entries/a.json", Body=b"{}")
        yield local


def test_each_role_may_do_what_the_template_allows_and_nothing_else(stack: EmulatedStack) -> None:
    validate = client_as(stack, "ValidateFunctionRole")
    validate.put_object(Bucket="pavi-local", Key="work/job/manifest.json", Body=b"{}")
    status, code, message = error_of(lambda: validate.put_object(Bucket="pavi-local", Key="results/job/x", Body=b""))
    assert (status, code) == (403, "AccessDenied")
    assert "assumed-role/ValidateFunctionRole/" in message and "s3:PutObject" in message, message
    retrieval = client_as(stack, "RetrievalJobRole")
    assert retrieval.get_object(Bucket="pavi-local", Key="work/job/entries/a.json")["Body"].read() == b"{}"
    status, code, _ = error_of(lambda: retrieval.delete_object(Bucket="pavi-local", Key="work/job/entries/a.json"))
    assert status == 403  # S3 answers a denied DELETE without a body here: botocore names it by status
    status, code, message = error_of(lambda: retrieval.get_object(Bucket="pavi-local", Key="results/job/a.fa"))
    assert (status, code) == (403, "AccessDenied") and "assumed-role/RetrievalJobRole/" in message
    api = client_as(stack, "ApiFunctionRole", "stepfunctions")
    status, code, message = error_of(lambda: api.list_state_machines())
    assert (status, code) == (403, "AccessDeniedException") and "states:ListStateMachines" in message


def test_s3_answers_a_missing_key_403_without_list_permission_and_404_with_it(stack: EmulatedStack) -> None:
    record_failure = client_as(stack, "RecordFailureFunctionRole")  # may list work/*
    assert error_of(lambda: record_failure.get_object(Bucket="pavi-local", Key="work/none/prepared.json"))[:2] == (
        404,
        "NoSuchKey",
    )
    alignment = client_as(stack, "AlignmentJobRole")  # may read results/*/alignment-input.fa, may not list
    status, code, message = error_of(
        lambda: alignment.get_object(Bucket="pavi-local", Key="results/none/alignment-input.fa")
    )
    assert (status, code) == (403, "AccessDenied") and "s3:ListBucket" in message


def test_the_picture_function_writes_only_the_pictures_and_pages_of_results(stack: EmulatedStack) -> None:
    role = stack.principals["PictureFunctionRole"]
    bucket = "arn:aws:s3:::pavi-local"
    for allowed in ("report.html", "report-identity.html", "alignment.svg", "alignment-identity.png"):
        assert role.allows("s3:PutObject", f"{bucket}/results/job/{allowed}") == "Allow", allowed
    for denied in ("alignment.aln", "variant-columns.json", "../work/job/request.json", "report.json"):
        assert role.allows("s3:PutObject", f"{bucket}/results/job/{denied}") != "Allow", denied
    assert role.allows("s3:GetObject", f"{bucket}/work/job/request.json") == "Allow"
    assert role.allows("s3:GetObject", f"{bucket}/work/job/entries/a.json") != "Allow"
    assert role.allows("s3:DeleteObject", f"{bucket}/results/job/report.html") != "Allow"
    assert role.allows("states:StartExecution", "*") != "Allow"


def test_the_state_machine_may_invoke_only_its_functions(stack: EmulatedStack) -> None:
    role = stack.principals["PipelineStateMachineRole"]
    assert role.allows("lambda:InvokeFunction", stack.functions["ValidateFunction"].arn) == "Allow"
    assert role.allows("lambda:InvokeFunction", stack.functions["ApiFunction"].arn) == "ImplicitDeny"
    answer, body = stack.lambdas.invoke_hook(
        {"url_path": f"/2015-03-31/functions/{stack.functions['ApiFunction'].arn}/invocations", "body": b"{}"}
    )
    assert answer.status_code == 403 and body["Error"]["Code"] == "AccessDeniedException"


# ---------------------------------------------------------------- defects 2 and 3: the first jobs


def test_defect_2_the_alignment_runs_as_its_image_user_with_a_read_only_root(stack: EmulatedStack) -> None:
    job_id, arn = stack.start({"seq_regions": demo_entries(), "lane": "batch"})
    description = stack.wait(arn, 180)
    assert description["status"] == "SUCCEEDED", description
    assert stack.read(f"results/{job_id}/alignment-output.aln").startswith(b"CLUSTAL O(1.2.4)")
    (job,) = [j for j in stack.batch.jobs.values() if j.definition.logical_id == "AlignmentJobDefinition"]
    assert job.definition.readonly_root and stack.batch.image(job.definition).user == (10001, 10001)


def test_defect_3_a_job_that_fails_before_its_preparation_still_gets_its_report(stack: EmulatedStack) -> None:
    entries = demo_entries()
    entries[0]["seq_strand"] = "sideways"
    job_id, arn = stack.start(entries)
    description = stack.wait(arn, 120)
    assert description["status"] == "FAILED" and description["error"] != "ReportNotWritten", description
    report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    assert report["status"] == "failed" and "seq_strand" in report["error"]["cause"]


def test_defect_3_the_api_answers_the_logs_of_a_job_whose_report_is_gone(stack: EmulatedStack) -> None:
    """The results' lifecycle (ResultsRetentionDays) expired the report while the execution's
    history remains: reading the missing key is a 404 only for a role that may list the bucket,
    and the API answers the job's log, not a 500."""
    from pavi.local.serve import proxy_event

    entries = demo_entries()
    entries[0]["seq_strand"] = "sideways"  # fails at once, in the validation
    job_id, arn = stack.start(entries)
    assert stack.wait(arn, 120)["status"] == "FAILED"
    stack.s3.delete_object(Bucket="pavi-local", Key=f"results/{job_id}/job-report.json")
    answer = stack.invoke("ApiFunction", proxy_event("GET", f"/api/pipeline-job/{job_id}/logs", None))
    assert answer["statusCode"] == 200, answer
    assert "validation" in answer["body"]


# ---------------------------------------------------------------- containers


def test_a_container_runs_as_its_user_with_only_its_volumes_writable(tmp_path: Path) -> None:
    from pavi.local.container import Image, sandbox

    probe = (
        "import os, tempfile\n"
        "print(os.getuid(), os.getgid())\n"
        "for path in ('/probe', '/tmp/probe', '/scratch/probe', os.environ['HOME'] + '/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close(); print(path, 'written')\n"
        "    except OSError as error:\n"
        "        print(path, type(error).__name__)\n"
        "print(sorted(k for k in os.environ if k not in ('PWD', 'LC_CTYPE')))\n"
    )
    image = Image(user=(10001, 10001), volumes=["/scratch"], owners={"/scratch": (10001, 10001, 0o700)})
    env = {"PATH": "/usr/bin:/bin", "HOME": "/home/pavi", "JOB_SETTING": "1"}
    for mounts, scratch_state in (((("/scratch", False),), "written"), ((("/tmp", False),), None)):
        box = sandbox([sys.executable, "-c", probe], image, True, mounts, env, tmp_path)
        out = subprocess.run(box.argv, capture_output=True, text=True, env={}, check=True).stdout.splitlines()
        box.close()
        assert out[0] == "10001 10001"
        assert "/probe OSError" in out, out  # the read-only root: EROFS
        if scratch_state:
            assert "/scratch/probe written" in out and not any(line.startswith("/tmp/probe written") for line in out)
        else:  # a mount the image does not declare: root's, 0755, as Fargate makes it
            assert "/tmp/probe PermissionError" in out, out
        assert out[-1] == str(sorted(env)), out[-1]


# ---------------------------------------------------------------- time-outs and the mutation check


def test_a_batch_job_that_never_starts_fails_into_the_report_within_the_task_time_out(tmp_path: Path) -> None:
    copy = copy_project(tmp_path / "project")
    edit(copy / "statemachine" / "pipeline.asl.json", '"TimeoutSeconds": 7800', '"TimeoutSeconds": 2')
    with EmulatedStack(copy, log_dir=tmp_path / "logs") as local:
        local.batch.never_start.add("AlignmentJobDefinition")
        job_id, arn = local.start({"seq_regions": demo_entries(), "lane": "batch"})
        description = local.wait(arn, 120)
        report = json.loads(local.read(f"results/{job_id}/job-report.json"))
    assert description["status"] == "FAILED" and report["status"] == "failed"
    assert "Timeout" in report["error"]["error"], report["error"]


def test_removing_a_permission_a_step_needs_makes_a_local_run_fail_naming_the_role_and_action(tmp_path: Path) -> None:
    copy = copy_project(tmp_path / "project")
    template = copy / "template.yaml"
    text = template.read_text()
    start = text.index("  ValidateFunction:\n")
    end = text.index("  PrepareAlignmentFunction:\n")
    block = text[start:end]
    assert block.count("Action: [s3:GetObject, s3:PutObject]") == 1
    template.write_text(text[:start] + block.replace("[s3:GetObject, s3:PutObject]", "[s3:GetObject]") + text[end:])
    env = {**os.environ, "PAVI_PROJECT_ROOT": str(copy)}
    run = subprocess.run(
        [sys.executable, "-m", "pavi.cli", "run", str(REPO / "demo" / "payload.json"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads((tmp_path / "out" / "job-report.json").read_text())
    cause = report["error"]["cause"]
    assert "AccessDenied" in cause and "ValidateFunctionRole" in cause and "s3:PutObject" in cause, cause
    assert "AccessDenied" in run.stdout + run.stderr
