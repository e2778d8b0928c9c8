"""A failed alignment or retrieval says why, in the job's report, and a stopped alignment leaves
nothing running or behind (issue 14, items 13 and 14)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pavi.aws.caught import error_of
from pavi.aws.job_store import JobPaths
from pavi.aws.steps import record_failure

PAVI = str(Path(sys.executable).parent / "pavi")

# what Step Functions' batch:submitJob.sync puts in a failure's Cause: the job's description
AWS_CAUSE = {
    "Attempts": [
        {
            "Container": {
                "ExitCode": 137, "LogStreamName": "pavi/default/a1",
                "Reason": "OutOfMemoryError: Container killed due to memory usage",
            },
            "StatusReason": "Essential container in task exited",
        },
        {
            "Container": {"ExitCode": 1, "LogStreamName": "pavi/default/a2"},
            "StatusReason": "Essential container in task exited",
        },
    ],
    "Container": {"ExitCode": 1, "LogStreamName": "pavi/default/a2", "Command": ["clustalo"], "Environment": []},
    "JobName": "pavi-align-job-1",
    "Status": "FAILED",
    "StatusReason": "Essential container in task exited",
}  # fmt: skip


def test_a_batch_cause_gives_the_reason_the_exit_code_and_the_log() -> None:
    name, cause = error_of({"Error": "States.TaskFailed", "Cause": json.dumps(AWS_CAUSE)})
    assert name == "States.TaskFailed"
    assert cause == (
        "Batch job pavi-align-job-1 failed after 2 attempts: Essential container in task exited; exit code 1; "
        "log stream pavi/default/a2"
    )
    killed = {**AWS_CAUSE, "Attempts": AWS_CAUSE["Attempts"][:1]}
    assert "exit code 137; OutOfMemoryError" in error_of({"Error": "x", "Cause": json.dumps(killed)})[1]


def test_the_report_of_a_failed_alignment_carries_clustal_omegas_message(tmp_path: Path) -> None:
    paths = JobPaths(str(tmp_path), "job-1")
    Path(paths.alignment_error).parent.mkdir(parents=True)
    Path(paths.alignment_error).write_text("Clustal Omega failed: FATAL: sequence 'x' has no residues\n")
    error = {"Error": "States.TaskFailed", "Cause": json.dumps(AWS_CAUSE)}
    outcome = record_failure({"job_id": "job-1", "error": error}, str(tmp_path), "job-1")
    assert outcome["cause"].startswith("Clustal Omega failed: FATAL: sequence 'x' has no residues (Batch job")
    report = json.loads(Path(paths.report).read_text())
    assert report["error"]["cause"] == outcome["cause"] and "exit code 1" in outcome["cause"]


def fake_clustalo(folder: Path, script: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    (folder / "clustalo").write_text(script)
    (folder / "clustalo").chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def test_pavi_clustalo_writes_why_it_failed(tmp_path: Path) -> None:
    env = fake_clustalo(tmp_path / "bin", "#!/bin/sh\necho 'FATAL: out of cheese' >&2\nexit 1\n")
    (tmp_path / "in.fa").write_text(">a\nMKV\n>b\nMRV\n")
    done = subprocess.run(
        [PAVI, "clustalo", str(tmp_path / "in.fa"), "--out", str(tmp_path / "out.aln"),
         "--error-out", str(tmp_path / "error.txt")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert (tmp_path / "error.txt").read_text() == "Clustal Omega failed: FATAL: out of cheese\n"
    assert not (tmp_path / "out.aln").exists()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_sigterm_stops_clustal_omega_and_removes_its_scratch(tmp_path: Path) -> None:
    """As Batch stops an attempt (docker stop: SIGTERM to the container's first process)."""
    rng = random.Random(5)
    proteins = "".join(f">p{i}\n{''.join(rng.choices('ACDEFGHIKLMNPQRSTVWY', k=700))}\n" for i in range(120))
    (tmp_path / "in.fa").write_text(proteins)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    process = subprocess.Popen(
        [PAVI, "clustalo", str(tmp_path / "in.fa"), "--out", str(tmp_path / "out.aln"), "--threads", "1",
         "--error-out", str(tmp_path / "error.txt")],
        env={**os.environ, "TMPDIR": str(scratch)}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    clustal: list[int] = []
    while not clustal and time.monotonic() < deadline:
        clustal = children_of(process.pid)
        time.sleep(0.05)
    assert clustal, "Clustal Omega never started"
    assert list(scratch.iterdir()), "no scratch folder while it runs"
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 128 + signal.SIGTERM
    assert not Path(f"/proc/{clustal[0]}").exists() or "Z" in Path(f"/proc/{clustal[0]}/stat").read_text().split()[2]
    assert list(scratch.iterdir()) == []
    assert (tmp_path / "error.txt").read_text().startswith("the alignment attempt was stopped (SIGTERM) after ")
    assert not (tmp_path / "out.aln").exists()


def test_a_cause_that_is_not_json_is_kept_as_it_is() -> None:
    assert error_of({"Error": "States.Timeout", "Cause": "never ran"}) == ("States.Timeout", "never ran")
