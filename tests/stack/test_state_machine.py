"""The unmodified statemachine/pipeline.asl.json under moto's interpreter, with the real
handlers and the real entrypoint as local processes (pavi.local.stack.EmulatedStack)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.demo import demo_entries
from support.genomes import GeneDesign, write_fasta

from pavi.aws.joblog import largest_state
from pavi.local.batch_host import KILLED_REASON, BatchJob
from pavi.local.stack import EmulatedStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path / "logs") as local:
        yield local


def run(
    stack: EmulatedStack, entries: list[dict[str, Any]], timeout: float = 180, lane: str | None = None
) -> tuple[str, dict[str, Any]]:
    job_id, arn = stack.start({"seq_regions": entries, **({"lane": lane} if lane else {})})
    return job_id, stack.wait(arn, timeout)


def report(stack: EmulatedStack, job_id: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    return value


def events_of(stack: EmulatedStack, description: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in stack.history(description["executionArn"]) if e["type"] == kind]


def test_the_happy_path_succeeds_with_the_results_in_s3(stack: EmulatedStack) -> None:
    job_id, description = run(stack, demo_entries())
    assert description["status"] == "SUCCEEDED", description
    results = stack.keys(f"results/{job_id}/")
    assert [key.rsplit("/", 1)[1] for key in results] == [
        "aligned_seq_info.json",
        "alignment-input.fa",
        "alignment-output.aln",
        "alignment.fasta",
        "alignment.msf",
        "alignment.nex",
        "alignment.phy",
        "alignment.sto",
        "guide-tree.dnd",
        "identity-matrix.tsv",
        "job-report.json",
        "variant-columns.json",
        "variant-columns.tsv",
    ]
    aln = stack.read(f"results/{job_id}/alignment-output.aln").decode()
    assert aln.startswith("CLUSTAL O(1.2.4) multiple sequence alignment")
    info = json.loads(stack.read(f"results/{job_id}/aligned_seq_info.json"))
    variants = [v for seq in info.values() for v in seq.get("embedded_variants", [])]
    assert variants and all("alignment_start_pos" in v and "alignment_end_pos" in v for v in variants)
    summary = report(stack, job_id)
    assert summary["status"] == "completed" and summary["counts"]["entries"] == 2
    assert [step["step"] for step in summary["steps"]] == [
        "validation",
        "retrieval",
        "preparation",
        "alignment",
        "collection",
    ]
    output = json.loads(description["output"])
    assert output["status"] == "completed" and output["results"] == f"s3://pavi-local/results/{job_id}/"
    # issue 23, item 9: one time format in the report (ISO 8601, UTC, Z, milliseconds)
    times = [summary["started_at"], summary["ended_at"]]
    times += [step[key] for step in summary["steps"] for key in ("started_at", "ended_at")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in times), times
    # issue 21, item 4: what produced the results
    provenance = summary["provenance"]
    assert provenance["alignment"]["clustal_omega"] == "1.2.4"
    assert provenance["alignment"]["command"] == (
        "clustalo -i alignment-input.fa --outfmt=clustal --resno -o alignment-output.aln "
        "--guidetree-out=guide-tree.dnd --threads=1"
    )
    assert provenance["pavi"] == "0.1.0" and provenance["biopython"].startswith("1.")
    (genome,) = provenance["genomes"].values()
    assert set(genome) == {"fasta", ".fai", ".gzi"} and all(f["size"] > 0 and f["version"] for f in genome.values())
    assert set(summary["results"]) >= {"guide_tree", "identity_matrix", "variant_columns", "alignment_fasta"}


def test_a_failing_entry_fails_the_job_and_the_report_names_it(stack: EmulatedStack) -> None:
    entries = demo_entries()
    entries[1]["seq_id"] = "FAILURE_TEST_SEQ_ID"
    job_id, description = run(stack, entries)
    assert description["status"] == "FAILED"
    assert description["error"] == "EntriesFailed"
    assert description["cause"].startswith(f"1 entry failed: {entries[1]['unique_entry_id']}: ")
    assert "FAILURE_TEST_SEQ_ID" in description["cause"]
    failed = report(stack, job_id)
    assert failed["status"] == "failed"
    assert [f["unique_entry_id"] for f in failed["failed_entries"]] == [entries[1]["unique_entry_id"]]
    assert not any(key.endswith("alignment-output.aln") for key in stack.keys(f"results/{job_id}/"))


def test_an_invalid_request_fails_with_every_problem_and_a_report(stack: EmulatedStack) -> None:
    entries = demo_entries()
    del entries[0]["seq_id"]
    entries[1]["exon_seq_regions"] = []
    job_id, description = run(stack, entries)
    assert description["status"] == "FAILED" and description["error"] == "RequestValidationError"
    assert "entry 0, seq_id: required" in description["cause"] and "entry 1, exon_seq_regions" in description["cause"]
    assert "Traceback" not in description["cause"] and "stackTrace" not in description["cause"]
    assert report(stack, job_id)["error"]["error"] == "RequestValidationError"


def test_a_lambda_error_that_happens_once_is_retried(stack: EmulatedStack) -> None:
    stack.faults.throttle["PrepareAlignmentFunction"] = 1  # the Lambda service throttles once
    stack.faults.raise_errors["CollectResultsFunction"] = 1  # the function itself fails once
    _, description = run(stack, demo_entries())
    assert description["status"] == "SUCCEEDED"
    errors = [e["taskFailedEventDetails"]["error"] for e in events_of(stack, description, "TaskFailed")]
    assert errors == ["Lambda.TooManyRequestsException", "ConnectionError"]
    calls = [name for name, _, _ in stack.invocations]
    assert calls.count("PrepareAlignmentFunction") == 1 and calls.count("CollectResultsFunction") == 2


def test_a_retrieval_child_that_keeps_failing_is_retried_then_fails_only_its_entries(tmp_path: Path) -> None:
    with EmulatedStack(log_dir=tmp_path / "logs", env={"PAVI_ENTRIES_PER_CHILD": "2"}) as stack:
        child_1_fails_every_attempt(stack)


def child_1_fails_every_attempt(stack: EmulatedStack) -> None:
    entries = [*demo_entries(), dict(demo_entries()[0], unique_entry_id="third_entry")]
    attempts: list[int] = []

    def kill_child_1(job: BatchJob, attempt: int, process: subprocess.Popen[bytes]) -> None:
        if job.array_index == 1:
            attempts.append(attempt)
            # the host goes away, every attempt: at once, or the child may finish first on a busy machine
            process.send_signal(signal.SIGKILL)

    stack.batch.on_start = kill_child_1
    job_id, description = run(stack, entries, lane="batch")
    assert attempts == [1, 2, 3]  # the job definition's RetryStrategy: 3 attempts, host loss -> RETRY
    assert description["status"] == "FAILED" and description["error"] == "EntriesFailed"
    (failed,) = report(stack, job_id)["failed_entries"]  # child 0's two entries were retrieved
    assert failed["unique_entry_id"] == "third_entry"
    (parent,) = [j for j in stack.batch.jobs.values() if j.children]
    assert failed["error"] == (
        f"child 1 of the retrieval array job did not finish (Batch job pavi-retrieve-{job_id} failed: "
        f"1 of 2 array child jobs failed; its own account: aws batch describe-jobs --jobs {parent.job_id}:1)"
    ), failed["error"]
    child = parent.children[1]
    assert child.status == "FAILED" and child.status_reason == KILLED_REASON and len(child.attempts) == 3
    assert [c.status for c in parent.children] == ["SUCCEEDED", "FAILED"]


def test_a_failed_alignment_job_is_caught_and_reported(stack: EmulatedStack) -> None:
    def fail_alignment(job: BatchJob, attempt: int, process: subprocess.Popen[bytes]) -> None:
        if job.command[0] == "clustalo":
            process.send_signal(signal.SIGKILL)

    stack.batch.on_start = fail_alignment
    job_id, description = run(stack, demo_entries(), lane="batch")
    assert description["status"] == "FAILED" and description["error"] == "TaskFailed"
    assert description["cause"].startswith(f"Batch job pavi-align-{job_id} failed after 2 attempts: {KILLED_REASON}")
    assert report(stack, job_id)["steps"][-1]["step"] == "alignment"


def test_one_thousand_entries_take_one_array_job_and_a_constant_history(tmp_path: Path) -> None:
    """The Batch jobs run in-process here (the state's size does not depend on it), and the
    proteins are short (Clustal Omega's time grows with N x length), to keep the suite fast."""
    gene = GeneDesign().on_strand("+")
    url = str(write_fasta(tmp_path, {"chrT": gene.genome}))
    entries = [gene.entry(url, unique_entry_id=f"entry_{n:04d}_of_a_long_job_name") for n in range(1000)]
    with EmulatedStack(log_dir=tmp_path / "logs", in_process_batch=True) as stack:
        job_id, arn = stack.start({"seq_regions": entries})
        description = stack.wait(arn, 900)
        assert description["status"] == "SUCCEEDED", description
        history = stack.history(arn)
        size, where = largest_state(history)
        print(f"1,000 entries: largest state {size:,} bytes ({where}); {len(history)} history events")
        assert size < 2_000  # locations and counts only: the entries are in the job store
        # one array job of 10 children: the history does not grow with the entries (a Map of one
        # Batch job per entry took 8,031 of a Standard workflow's 25,000 events here)
        assert len(history) < 40
        (parent,) = [job for job in stack.batch.jobs.values() if job.children]
        assert len(parent.children) == 10 and parent.status == "SUCCEEDED"
        assert report(stack, job_id)["counts"]["sequences"] == 1000
