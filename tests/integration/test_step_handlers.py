"""The step Lambdas against a local S3 (moto's server): validation, preparation, collection, failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.genomes import GeneDesign, write_fasta
from support.lambdas import FakeContext, load_handler

from pavi import cli
from pavi.aws.job_requests import JobIdClaimed, canonical_request, reference
from pavi.aws.job_store import JobPaths, JobStateError, now_iso
from pavi.aws.joblog import report_lines
from pavi.domain.errors import RequestValidationError

BUCKET = "pavi-jobs"
STORE = f"s3://{BUCKET}"
P = GeneDesign().protein  # MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ


@pytest.fixture
def store(moto_s3: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("PAVI_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PAVI-test")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "pavi")
    return STORE


@pytest.fixture(scope="module")
def handlers() -> dict[str, Callable[[dict[str, Any], Any], Any]]:
    return {name: load_handler(name) for name in ("validate", "prepare_alignment", "collect_results", "record_failure")}


@pytest.fixture
def entries(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """A plus-strand gene with a missense variant, a minus-strand gene whose variant loses
    the start codon (an alternative-protein error: data), and an entry on a missing sequence."""
    design = GeneDesign()
    plus, minus = design.on_strand("+"), design.on_strand("-")
    url = str(write_fasta(tmp_path, {"chrP": plus.genome, "chrM": minus.genome}))
    missense = plus.entry(url, variants=[plus.variant("Y5D", 12, "T", "G")])
    missense.update(seq_id="chrP", unique_entry_id="a_missense", base_seq_name="plus")
    for variant in missense["variants"]:  # type: ignore[attr-defined]
        variant["seq_id"] = "chrP"
    start_lost = minus.entry(url, variants=[minus.variant("M1I", 2, "G", "A")])
    start_lost.update(seq_id="chrM", unique_entry_id="b_start_lost", base_seq_name="minus")
    for variant in start_lost["variants"]:  # type: ignore[attr-defined]
        variant["seq_id"] = "chrM"
    missing = plus.entry(url)
    missing.update(seq_id="chrNope", unique_entry_id="c_missing", base_seq_name="nowhere")
    return {"missense": missense, "start_lost": start_lost, "missing": missing}


def s3_text(location: str) -> str:
    bucket, key = location.removeprefix("s3://").split("/", 1)
    return str(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def s3_keys(prefix: str) -> list[str]:
    bucket, key = prefix.removeprefix("s3://").split("/", 1)
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def run_child(state: dict[str, Any], index: int) -> int:
    """What child ``index`` of the retrieval array job runs (the job definition's Command)."""
    per_child = state["array"]["per_child"]
    command = ["retrieve-share", state["manifest"], "--out", state["sequences"], "--per-child", per_child]
    return cli.main([*command, "--index", str(index)])


def run_retrieval(state: dict[str, Any]) -> None:
    """The retrieval array job: every child, each with its share of the entries."""
    for index in range(state["array"]["children"]):
        assert run_child(state, index) == 0


def test_happy_path_writes_the_results_and_a_completed_report(store: str, handlers: Any, entries: Any) -> None:
    payload = {"seq_regions": [entries["missense"], entries["start_lost"]]}
    state = handlers["validate"](
        {"input": payload, "job_id": "job-1", "execution_id": "job-1-execution", "started_at": now_iso()}, FakeContext()
    )
    assert state["entry_count"] == 2 and state["array"] == {"children": 2, "per_child": "1"}
    assert json.loads(s3_text(state["manifest"]))["entry_ids"] == ["a_missense", "b_start_lost"]
    assert "entries" not in state  # the state's size does not grow with the entries
    assert state["sequences"] == f"{STORE}/work/job-1/sequences/"
    assert s3_keys(f"{STORE}/work/job-1/entries/") == [  # one file a retrieval child: its share
        "work/job-1/entries/share-00000.json",
        "work/job-1/entries/share-00001.json",
    ]
    assert json.loads(s3_text(f"{STORE}/work/job-1/entries/share-00001.json"))[0]["unique_entry_id"] == "b_start_lost"
    run_retrieval(state)
    prepare_entered = now_iso()
    prepared = handlers["prepare_alignment"]({"state": state, "entered_at": prepare_entered}, FakeContext())
    assert prepared["can_align"] is True
    assert prepared["counts"] == {
        "entries": 2,
        "entries_failed": 0,
        "entries_excluded": 0,
        "sequences": 3,
        "alternative_errors": 1,
    }
    assert "array" not in prepared  # the retrieval's plan does not travel further
    fasta = s3_text(prepared["alignment_input"])
    assert [line for line in fasta.splitlines() if line.startswith(">")] == [">plus_ref", ">plus_alt", ">minus_ref"]

    assert cli.main(["clustalo", prepared["alignment_input"], "--out", prepared["alignment_output"]]) == 0
    collect_entered = now_iso()
    summary = handlers["collect_results"]({"state": prepared, "entered_at": collect_entered}, FakeContext())
    assert summary["status"] == "completed" and summary["results"] == f"{STORE}/results/job-1/"

    info = json.loads(s3_text(f"{STORE}/results/job-1/aligned_seq_info.json"))
    assert list(info) == sorted(info) == ["minus_alt", "minus_ref", "plus_alt", "plus_ref"]
    (variant,) = info["plus_alt"]["embedded_variants"]
    assert (variant["seq_start_pos"], variant["alignment_start_pos"]) == (5, 5)  # no gap before residue 5
    assert "start codon" in info["minus_alt"]["error"]

    report = json.loads(s3_text(f"{STORE}/results/job-1/job-report.json"))
    assert report["status"] == "completed" and report["failed_entries"] == []
    assert report["alternative_errors"][0]["unique_entry_id"] == "b_start_lost"
    steps = {step["step"]: step for step in report["steps"]}
    assert list(steps) == ["validation", "retrieval", "preparation", "alignment", "collection"]
    assert steps["retrieval"]["ended_at"] == steps["preparation"]["started_at"] == prepare_entered
    assert steps["alignment"]["ended_at"] == steps["collection"]["started_at"] == collect_entered
    assert all(step["seconds"] >= 0 for step in report["steps"])
    assert report["results"]["alignment"] == f"{STORE}/results/job-1/alignment-output.aln"


def test_a_failed_reference_stops_the_job_and_the_report_names_it(store: str, handlers: Any, entries: Any) -> None:
    payload = [entries["missense"], entries["missing"]]
    state = handlers["validate"](
        {"input": payload, "job_id": "job-2", "execution_id": "job-2-execution"}, FakeContext()
    )
    run_retrieval(state)
    prepared = handlers["prepare_alignment"]({"state": state}, FakeContext())
    assert prepared["can_align"] is False
    assert prepared["failure"] == {"error": "EntriesFailed", "failed_entries": ["c_missing"]}
    outcome = handlers["record_failure"]({"state": prepared, "job_id": "job-2"}, FakeContext())
    assert outcome["error"] == "EntriesFailed"
    assert outcome["cause"].startswith("1 entry failed: c_missing: ") and "chrNope" in outcome["cause"]
    report = json.loads(s3_text(f"{STORE}/results/job-2/job-report.json"))
    assert report["status"] == "failed" and report["error"]["error"] == "EntriesFailed"
    assert [f["unique_entry_id"] for f in report["failed_entries"]] == ["c_missing"]
    assert report["results"]["alignment"] is None  # nothing presented as a result
    assert f"{STORE}/results/job-2/aligned_seq_info.json".split("/", 3)[3] not in s3_keys(f"{STORE}/results/job-2/")
    # issue 27, item 8: no alignment step, and nothing said to be aligned
    assert [step["step"] for step in report["steps"]][-1] == "preparation"
    log = "\n".join(report_lines(report))
    assert "sequences aligned" not in log and "sequences: " in log


def test_an_entry_whose_files_are_missing_counts_as_failed(store: str, handlers: Any, entries: Any) -> None:
    state = handlers["validate"](
        {"input": [entries["missense"], entries["start_lost"]], "job_id": "job-3", "execution_id": "job-3-execution"},
        FakeContext(),
    )
    assert run_child(state, 0) == 0
    # child 1 (b_start_lost) failed after its retries: the array job's catcher left the error
    state["retrieval_error"] = {"Error": "States.TaskFailed", "Cause": "1 of 2 array child jobs failed"}
    prepared = handlers["prepare_alignment"]({"state": state}, FakeContext())
    assert prepared["can_align"] is False and prepared["failure"]["failed_entries"] == ["b_start_lost"]
    assert "retrieval_error" not in prepared
    failed = json.loads(s3_text(f"{STORE}/work/job-3/prepared.json"))["failed_entries"]
    assert failed == [
        {
            "unique_entry_id": "b_start_lost",
            "sequence_name": "",
            "error": "child 1 of the retrieval array job did not finish (1 of 2 array child jobs failed)",
        }
    ]


def test_collection_without_an_alignment_is_an_error_not_a_result(store: str, handlers: Any, entries: Any) -> None:
    state = handlers["validate"](
        {"input": [entries["missense"]], "job_id": "job-4", "execution_id": "job-4-execution"}, FakeContext()
    )
    run_retrieval(state)
    prepared = handlers["prepare_alignment"]({"state": state}, FakeContext())
    with pytest.raises(JobStateError, match=r"alignment-output\.aln does not exist"):
        handlers["collect_results"]({"state": prepared}, FakeContext())
    assert s3_keys(f"{STORE}/results/job-4/") == ["results/job-4/alignment-input.fa"]


def test_validation_lists_every_problem_and_refuses_urls_off_the_allow_list(
    store: str, handlers: Any, entries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = dict(entries["missense"], unique_entry_id="no spaces allowed")
    del bad["seq_id"]
    with pytest.raises(RequestValidationError) as caught:
        handlers["validate"](
            {"input": [bad, {"base_seq_name": "x"}], "job_id": "job-5", "execution_id": "job-5-execution"},
            FakeContext(),
        )
    fields = {(p.entry_index, p.field) for p in caught.value.problems}
    assert {(0, "unique_entry_id"), (0, "seq_id"), (1, "unique_entry_id"), (1, "fasta_file_url")} <= fields
    monkeypatch.setenv("PAVI_FASTA_ALLOWLIST", "s3://genomes-bucket")
    hostile = [
        dict(entries["missense"], unique_entry_id="a", fasta_file_url="http://169.254.169.254/latest/genome.fa"),
        dict(entries["missense"], unique_entry_id="b", fasta_file_url="s3://someone-elses-bucket/genome.fa.gz"),
        dict(entries["missense"], unique_entry_id="c"),
    ]
    with pytest.raises(RequestValidationError) as caught:
        handlers["validate"]({"input": hostile, "job_id": "job-5", "execution_id": "job-5-execution"}, FakeContext())
    assert [(p.entry_index, p.field) for p in caught.value.problems] == [
        (0, "fasta_file_url"),
        (1, "fasta_file_url"),
        (2, "fasta_file_url"),
    ]
    # nothing written for a refused request but the execution's claim of its job ID
    assert s3_keys(f"{STORE}/work/job-5/") == ["work/job-5/execution.json"]


def test_a_kept_request_is_read_only_from_its_own_job(store: str, handlers: Any, entries: Any) -> None:
    """Issue 27: a request by reference is this job's own ``work/{job}/request.json`` with the
    digest it was started with; another job's request, or another bucket's object, is refused."""
    body = canonical_request([entries["missense"]])
    boto3.client("s3").put_object(Bucket=BUCKET, Key="work/job-6/request.json", Body=body)
    state = handlers["validate"](
        {"input": reference(JobPaths(STORE, "job-6"), body), "job_id": "job-6", "execution_id": "e6"}, FakeContext()
    )
    assert json.loads(s3_text(state["manifest"]))["entry_ids"] == ["a_missense"]
    for uri in ("s3://other/secret.json", f"{STORE}/work/job-6/request.json", f"{STORE}/work/job-6/../job-6/x"):
        with pytest.raises(RequestValidationError, match=r"is not this job's request \(s3://pavi-jobs/work/job-7/"):
            handlers["validate"](
                {"input": {"request_uri": uri}, "job_id": "job-7", "execution_id": "e7"}, FakeContext()
            )
    boto3.client("s3").put_object(Bucket=BUCKET, Key="work/job-8/request.json", Body=body)
    forged = {"request_uri": f"{STORE}/work/job-8/request.json", "request_sha256": "0" * 64}
    with pytest.raises(RequestValidationError, match="not the request this execution was started with"):
        handlers["validate"]({"input": forged, "job_id": "job-8", "execution_id": "e8"}, FakeContext())


def test_a_job_id_is_run_by_one_execution_and_never_over_kept_results(store: str, handlers: Any, entries: Any) -> None:
    """Issue 27, item 2: a second execution under a claimed job ID fails with JobIdClaimed before
    it writes anything; a retried validation of the same execution, and the Standard execution the
    Express one hands the job to, are the claim's own; a job ID with a report is taken."""
    first = {"input": [entries["missense"]], "job_id": "job-9", "execution_id": "arn:express:job-9:1"}
    standard = "arn:aws:states:us-east-1:1:stateMachine:pipeline"
    handlers["validate"]({**first, "hands_off_to": standard}, FakeContext())
    written = {key: s3_text(f"{STORE}/{key}") for key in s3_keys(f"{STORE}/work/job-9/")}
    handlers["validate"]({**first, "hands_off_to": standard}, FakeContext())  # a retry: the same claim
    other = {"input": [entries["start_lost"]], "job_id": "job-9", "execution_id": "arn:express:job-9:2"}
    with pytest.raises(JobIdClaimed, match="job ID job-9 is run by another execution"):
        handlers["validate"](other, FakeContext())
    assert {key: s3_text(f"{STORE}/{key}") for key in s3_keys(f"{STORE}/work/job-9/")} == written
    kept = reference(JobPaths(STORE, "job-9"), canonical_request([entries["missense"]]))
    handed = {"input": {**kept, "lane": "batch"}, "job_id": "job-9", "execution_id": f"{standard}:job-9"}
    handed["execution_id"] = handed["execution_id"].replace(":stateMachine:", ":execution:")
    assert handlers["validate"](handed, FakeContext())["lane"] == "batch"
    # an inline request under a job ID that holds another request
    boto3.client("s3").put_object(Bucket=BUCKET, Key="work/job-10/request.json", Body=b'{"seq_regions":[]}')
    inline = {"input": [entries["missense"]], "job_id": "job-10", "execution_id": "e10"}
    with pytest.raises(JobIdClaimed, match="job ID job-10 holds another request"):
        handlers["validate"](inline, FakeContext())
    # work/ expired, the report kept: the job ID is taken
    boto3.client("s3").put_object(Bucket=BUCKET, Key="results/job-11/job-report.json", Body=b"{}")
    with pytest.raises(JobIdClaimed, match="job ID job-11 has results already"):
        handlers["validate"]({"input": [entries["missense"]], "job_id": "job-11", "execution_id": "e11"}, FakeContext())
    assert s3_keys(f"{STORE}/work/job-11/") == ["work/job-11/execution.json"]


def test_a_validation_failure_gets_a_report_with_the_message_and_no_stack_trace(store: str, handlers: Any) -> None:
    cause = json.dumps(
        {
            "errorMessage": "invalid request (1 problem(s)):\n  - entry 0, seq_id: required, but missing",
            "errorType": "RequestValidationError",
            "stackTrace": ['  File "/var/task/app.py", line 14, in lambda_handler\n'],
        }
    )
    state = {"seq_regions": [{}], "error": {"Error": "RequestValidationError", "Cause": cause}}
    outcome = handlers["record_failure"]({"state": state, "job_id": "job-8"}, FakeContext())
    assert outcome["error"] == "RequestValidationError"
    assert outcome["cause"] == "invalid request (1 problem(s)):\n  - entry 0, seq_id: required, but missing"
    report = json.loads(s3_text(f"{STORE}/results/job-8/job-report.json"))
    assert report["status"] == "failed" and "stackTrace" not in json.dumps(report)


def test_a_failed_batch_job_is_reported_by_its_status_reason(store: str, handlers: Any) -> None:
    cause = json.dumps(
        {"jobName": "pavi-align", "status": "FAILED", "statusReason": "Host EC2 (instance i-1) terminated."}
    )
    state = {"job_id": "job-9", "store": STORE, "error": {"Error": "States.TaskFailed", "Cause": cause}}
    outcome = handlers["record_failure"]({"state": state}, FakeContext())
    assert outcome["cause"] == "Batch job pavi-align failed: Host EC2 (instance i-1) terminated."


def test_job_paths_refuse_ids_that_would_escape_the_prefix() -> None:
    with pytest.raises(JobStateError, match=r"job id '\.\./other-job' must be 1-80 letters"):
        JobPaths(STORE, "../other-job")
