"""Failures through the whole job (the unmodified state machine, pavi.local): for each, the
job's end state, what its report says, and that no partial result is presented as complete.

(The sequence missing from its FASTA, and a retrieval job failing every attempt, are in
test_state_machine.py; the unit tests cover each fault at the level of one read.)
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.demo import REPO, demo_entries
from support.http_server import FileServer

from pavi.local.batch_host import BatchJob
from pavi.local.stack import EmulatedStack

GENOME_FILES = ("genome.fa.gz", "genome.fa.gz.fai", "genome.fa.gz.gzi")


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    folder = tmp_path / "genome"
    folder.mkdir()
    for name in GENOME_FILES:
        shutil.copy(REPO / "demo" / name, folder / name)
    return folder


@pytest.fixture
def server(genome: Path) -> Iterator[FileServer]:
    files = FileServer(genome).start()
    yield files
    files.stop()


def entries_at(url: str) -> list[dict[str, Any]]:
    entries = demo_entries()
    for entry in entries:
        entry["fasta_file_url"] = url
    return entries


def run(
    entries: list[dict[str, Any]],
    tmp_path: Path,
    prepare: Callable[[EmulatedStack], None] | None = None,
    **options: Any,
) -> tuple[EmulatedStack, str, dict[str, Any], dict[str, Any]]:
    """Run one job; returns the stack (closed), job id, its description and its report."""
    with EmulatedStack(log_dir=tmp_path / "logs", **options) as stack:
        if prepare:
            prepare(stack)
        job_id, arn = stack.start(entries)
        description = stack.wait(arn, 240)
        report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
        results = [key.rsplit("/", 1)[1] for key in stack.keys(f"results/{job_id}/")]
        description["results"] = results
        description["history"] = stack.history(arn)
    return stack, job_id, description, report


def assert_failed_naming(description: dict[str, Any], report: dict[str, Any], entry_ids: set[str], words: str) -> None:
    assert description["status"] == "FAILED" and description["error"] == "EntriesFailed"
    assert report["status"] == "failed"
    assert {f["unique_entry_id"] for f in report["failed_entries"]} == entry_ids
    assert all(words in f["error"] for f in report["failed_entries"]), report["failed_entries"]
    # nothing presented as a result: no alignment, no aligned sequence info
    assert "alignment-output.aln" not in description["results"]
    assert "aligned_seq_info.json" not in description["results"]
    assert report["results"]["alignment"] is None


def test_a_corrupt_gzi_fails_the_job_naming_every_entry(genome: Path, tmp_path: Path) -> None:
    (genome / "genome.fa.gz.gzi").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00garbage")
    entries = entries_at(str(genome / "genome.fa.gz"))
    _, _, description, report = run(entries, tmp_path)
    assert_failed_naming(description, report, {e["unique_entry_id"] for e in entries}, ".gzi")


def test_a_truncated_bgzip_fails_the_job_naming_the_entries_it_cuts(genome: Path, tmp_path: Path) -> None:
    data = (genome / "genome.fa.gz").read_bytes()
    (genome / "genome.fa.gz").write_bytes(data[: len(data) // 3])
    entries = entries_at(str(genome / "genome.fa.gz"))
    _, _, description, report = run(entries, tmp_path)
    assert_failed_naming(description, report, {e["unique_entry_id"] for e in entries}, "truncated bgzip block")


def test_a_fasta_url_that_answers_500_then_200_completes(server: FileServer, tmp_path: Path) -> None:
    server.faults.fail_first = {"/genome.fa.gz.fai": (2, 500), "/genome.fa.gz": (1, 503)}
    _, _, description, report = run(entries_at(f"{server.url}/genome.fa.gz"), tmp_path)
    assert description["status"] == "SUCCEEDED"
    assert report["status"] == "completed" and report["failed_entries"] == []
    assert {"alignment-output.aln", "aligned_seq_info.json"} <= set(description["results"])
    statuses = [path for path, _ in server.requests]
    assert statuses.count("/genome.fa.gz.fai") >= 3  # two 500s, then the index


def test_a_fasta_url_that_hangs_times_out_and_fails_the_job(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVI_HTTP_READ_TIMEOUT", "0.5")
    server.faults.delay = {"/genome.fa.gz": 3.0}
    entries = entries_at(f"{server.url}/genome.fa.gz")
    started = time.monotonic()
    _, _, description, report = run(entries, tmp_path)
    assert_failed_naming(description, report, {e["unique_entry_id"] for e in entries}, "unreachable")
    assert time.monotonic() - started < 60


def test_the_variant_api_down_is_an_alternative_error_and_the_job_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVI_VARIANT_API_URL", "http://127.0.0.1:9/api/variant/")  # nothing listens on port 9
    entries = demo_entries()
    entries[1]["variant_ids"] = ["NC_000006.12:g.29942800C>T"]
    _, _, description, report = run(entries, tmp_path)
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"
    (alternative,) = report["alternative_errors"]
    assert alternative["unique_entry_id"] == entries[1]["unique_entry_id"]
    assert "variant" in alternative["error"].lower()
    assert report["failed_entries"] == []


def test_s3_write_failures_are_retried(tmp_path: Path) -> None:
    """The first PutObject requests, whoever sends them (the functions and the jobs run in
    processes of their own), S3 answers 503 SlowDown; botocore's standard retry mode retries
    them and the job completes."""

    def slow_down(stack: EmulatedStack) -> None:
        stack.faults.s3_slow_down["PutObject"] = 3

    stack, _, description, report = run(demo_entries(), tmp_path, prepare=slow_down)
    assert stack.faults.s3_injected == 3
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"


def test_a_batch_job_killed_mid_run_is_retried_by_its_strategy(tmp_path: Path) -> None:
    killed: list[str] = []

    def kill_first_attempt(job: BatchJob, attempt: int, process: subprocess.Popen[bytes]) -> None:
        if attempt == 1 and job.command[0] == "retrieve-share" and not killed:
            killed.append(job.job_id)  # one child of the retrieval array job
            # at once: a process that may run first can finish its share on a busy machine
            process.send_signal(signal.SIGKILL)

    with EmulatedStack(log_dir=tmp_path / "logs") as stack:
        stack.batch.on_start = kill_first_attempt
        job_id, arn = stack.start({"seq_regions": demo_entries(), "lane": "batch"})
        description = stack.wait(arn, 240)
        report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
        attempts = {job.job_id: len(job.attempts) for job in stack.batch.jobs.values()}
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"
    assert attempts[killed[0]] == 2  # the host loss was retried by the job definition's RetryStrategy
    assert sorted(attempts.values()).count(1) == 2  # the other child and the alignment: one attempt each


def test_a_lambda_timeout_is_retried(tmp_path: Path) -> None:
    # 3 s: a collection's retry stays well within it on a loaded machine (about 0.3 s when quiet)
    with EmulatedStack(log_dir=tmp_path / "logs", function_timeouts={"CollectResultsFunction": 3}) as stack:
        stack.faults.slow["CollectResultsFunction"] = (4.0, 1)  # the first invocation outlives its timeout
        job_id, arn = stack.start(demo_entries())
        description = stack.wait(arn, 240)
        errors = [e["taskFailedEventDetails"]["error"] for e in stack.history(arn) if e["type"] == "TaskFailed"]
        report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    assert errors == ["Sandbox.Timedout"]
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"


def test_a_lambda_that_always_times_out_fails_the_job_with_a_report(tmp_path: Path) -> None:
    with EmulatedStack(log_dir=tmp_path / "logs", function_timeouts={"PrepareAlignmentFunction": 1}) as stack:
        stack.faults.slow["PrepareAlignmentFunction"] = (1.5, 3)  # the first call and both retries
        job_id, arn = stack.start(demo_entries())
        description = stack.wait(arn, 240)
        report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
        results = [key.rsplit("/", 1)[1] for key in stack.keys(f"results/{job_id}/")]
    assert description["status"] == "FAILED" and description["error"] == "Sandbox.Timedout"
    assert report["status"] == "failed" and report["error"]["cause"].startswith("Task timed out")
    assert "alignment-output.aln" not in results and "aligned_seq_info.json" not in results


def test_with_the_aws_guard_the_stack_refuses_local_files_and_loopback(
    genome: Path, server: FileServer, tmp_path: Path
) -> None:
    """The local stack's one leniency (docs/decisions.md §3) switched off: AWS's guard refuses
    the genomes every other local run reads, at validation, naming each entry."""
    entries = entries_at(f"file://{genome}/genome.fa.gz")[:1] + entries_at(f"{server.url}/genome.fa.gz")[1:2]
    _, _, description, report = run(
        entries, tmp_path, env={"PAVI_URL_GUARD": "aws", "PAVI_FASTA_ALLOWLIST": "*,file://,127.0.0.1"}
    )
    assert description["status"] == "FAILED"
    assert server.requests == []
    text = json.dumps(report)
    assert "local files are not allowed" in text and "non-public address 127.0.0.1" in text, report


def test_a_lambda_lane_step_that_times_out_falls_back_too(tmp_path: Path) -> None:
    with EmulatedStack(log_dir=tmp_path / "logs", function_timeouts={"RetrieveFunction": 1}) as local:
        local.faults.slow["RetrieveFunction"] = (2.5, 1)  # the invocation outlives its time-out
        job_id, arn = local.start({"seq_regions": demo_entries()})
        description = local.wait(arn, 240)
        report = json.loads(local.read(f"results/{job_id}/job-report.json"))
    assert description["status"] == "SUCCEEDED" and report["lanes"]["retrieval"] == "batch"
    assert report["lanes"]["fallback"].startswith("the Lambda lane's retrieval failed (Sandbox.Timedout: ")
