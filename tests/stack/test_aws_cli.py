"""The AWS CLI (a client none of us wrote) against ``pavi stack``: the commands the README
gives operators, unchanged but for the environment ``pavi stack`` prints (issue 22).

``pavi stack`` runs as its own process, as a user runs it; ``aws`` is the CLI from PyPI,
also a process of its own: its requests are signed and go over HTTP, and the stack's IAM
allows or refuses them as it does every other call.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.project import project_root

ROOT = project_root()
AWS = shutil.which("aws", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def local_stack() -> Iterator[dict[str, str]]:
    """``pavi stack`` until the module's tests end: the environment its export lines set."""
    if AWS is None:
        pytest.fail("the AWS CLI is missing from the virtual environment (awscli, in the dev extras)")
    process = subprocess.Popen(
        [sys.executable, "-m", "pavi.cli", "stack"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PAVI_LOCAL_CONTAINERS": "0"},
    )
    exported: dict[str, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:  # blocks until each line: no polling
            assert line.startswith("export "), line
            name, value = line.removeprefix("export ").strip().split("=", 1)
            exported[name] = value.strip("'")
            if name == "PAVI_BUCKET":
                break
        assert set(exported) >= {
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "PAVI_STATE_MACHINE_ARN",
            "PAVI_EXPRESS_STATE_MACHINE_ARN",
            "PAVI_BUCKET",
        }, exported
        yield exported
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def aws(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [str(AWS), *args, "--output", "json"],
        cwd=ROOT,
        env={**clean, **env, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"},
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_the_readme_commands_work_unchanged(local_stack: dict[str, str]) -> None:
    env = local_stack
    started = json.loads(
        aws(
            env,
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            env["PAVI_STATE_MACHINE_ARN"],
            "--name",
            str(uuid.uuid4()),
            "--input",
            "file://events/start-sync-execution.json",
        ).stdout
    )
    synchronous = json.loads(
        aws(
            env,
            "stepfunctions",
            "start-sync-execution",
            "--state-machine-arn",
            env["PAVI_EXPRESS_STATE_MACHINE_ARN"],
            "--input",
            "file://events/start-sync-execution.json",
        ).stdout
    )
    assert synchronous["status"] == "SUCCEEDED", synchronous
    assert synchronous["billingDetails"]["billedMemoryUsedInMB"] == 64
    summary = json.loads(synchronous["output"])
    assert summary["status"] == "completed" and summary["lanes"] == {"retrieval": "lambda", "alignment": "lambda"}
    assert summary["alignment_clustal"].startswith("CLUSTAL")
    deadline = time.monotonic() + 120
    while True:  # the Standard execution started first: describe-execution, as an operator would
        described = json.loads(
            aws(env, "stepfunctions", "describe-execution", "--execution-arn", started["executionArn"]).stdout
        )
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert described["status"] == "SUCCEEDED", described
    job = started["executionArn"].rsplit(":", 1)[1]
    listing = aws(env, "s3", "ls", f"s3://{env['PAVI_BUCKET']}/results/", "--recursive").stdout
    assert f"results/{job}/alignment-output.aln" in listing
    assert f"results/{summary['job_id']}/alignment-output.aln" in listing
    copied = aws(env, "s3", "cp", f"s3://{env['PAVI_BUCKET']}/results/{job}/alignment-output.aln", "-").stdout
    assert copied == summary["alignment_clustal"]  # the two workflows align the same proteins alike


def test_the_stack_refuses_what_aws_refuses(local_stack: dict[str, str]) -> None:
    env = local_stack
    standard = aws(
        env,
        "stepfunctions",
        "start-sync-execution",
        "--state-machine-arn",
        env["PAVI_STATE_MACHINE_ARN"],
        "--input",
        "{}",
        check=False,
    )
    assert standard.returncode != 0 and "StateMachineTypeNotSupported" in standard.stderr
    unsigned = aws(
        {**env, "AWS_ACCESS_KEY_ID": "AKIANOTAKEYOFTHISSTACK", "AWS_SECRET_ACCESS_KEY": "x"},
        "s3",
        "ls",
        f"s3://{env['PAVI_BUCKET']}/results/",
        check=False,
    )
    assert unsigned.returncode != 0 and "InvalidAccessKeyId" in unsigned.stderr


def test_functions_are_listed_and_invoked_with_the_printed_keys(local_stack: dict[str, str], tmp_path: Path) -> None:
    """Issue 27, item 4: ``aws lambda list-functions`` answered 403 SignatureDoesNotMatch with the
    keys ``pavi stack`` prints, and nothing printed the functions' names."""
    env = local_stack
    printed = dict(pair.split("=", 1) for pair in env["PAVI_FUNCTIONS"].split())
    assert printed["ValidateFunction"].endswith(":function:ValidateFunction")
    listed = json.loads(aws(env, "lambda", "list-functions").stdout)
    assert {f["FunctionName"] for f in listed["Functions"]} >= {"ValidateFunction", "ApiFunction"}
    event = tmp_path / "health.json"
    event.write_text(json.dumps({"httpMethod": "GET", "path": "/api/health", "resource": "/api/health"}))
    answer = tmp_path / "answer.json"
    invoked = aws(
        env, "lambda", "invoke", "--function-name", "ApiFunction",
        "--payload", f"file://{event}", str(answer), check=False,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr[-2000:]
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    assert json.loads(json.loads(answer.read_text())["body"]) == {"status": "up"}
    badly_signed = aws({**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "lambda", "list-functions", check=False)
    assert badly_signed.returncode != 0 and "SignatureDoesNotMatch" in badly_signed.stderr
