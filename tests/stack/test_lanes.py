"""The two lanes (issue 15): the state machine's choice, the same results from both, and the
Lambda lane's fall-back to the Batch lane, through the unmodified state machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.demo import demo_entries

from pavi.aws.joblog import report_lines
from pavi.aws.lanes import LAMBDA_LANE_LIMITS, lambda_lane_fits, lane_figures
from pavi.domain.request import parse_job
from pavi.local.stack import EmulatedStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path_factory.mktemp("lanes") / "logs") as local:
        yield local


def run(stack: EmulatedStack, payload: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    job_id, arn = stack.start(payload)
    description = stack.wait(arn, 180)
    report: dict[str, Any] = json.loads(stack.read(f"results/{job_id}/job-report.json"))
    return job_id, description, report


def entered(stack: EmulatedStack, description: dict[str, Any]) -> list[str]:
    history = stack.history(description["executionArn"])
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_the_asl_chooses_by_the_same_limits_as_the_code() -> None:
    asl = json.loads((REPO / "statemachine" / "pipeline.asl.json").read_text())
    (by_figures,) = [rule for rule in asl["States"]["ChooseLane"]["Choices"] if "And" in rule]
    limits = {c["Variable"].removeprefix("$.figures."): c["NumericLessThanEquals"] for c in by_figures["And"]}
    assert limits == LAMBDA_LANE_LIMITS and by_figures["Next"] == "RetrieveInLambda"
    assert asl["States"]["ChooseLane"]["Default"] == "RetrieveSequences"


def test_the_figures_come_from_the_cds_lengths() -> None:
    job = parse_job(demo_entries())
    figures = lane_figures(job.seq_regions)
    cds = [sum(r.end - r.start + 1 for r in (e.cds_seq_regions or e.exon_seq_regions)) // 3 for e in job.seq_regions]
    with_variants = [2 if e.variant_ids or e.variants else 1 for e in job.seq_regions]
    assert figures == {
        "entries": 2,
        "longest_protein": max(cds),
        "total_protein": sum(n * k for n, k in zip(cds, with_variants, strict=True)),
    }
    assert lambda_lane_fits(figures)
    assert not lambda_lane_fits({**figures, "entries": LAMBDA_LANE_LIMITS["entries"] + 1})
    assert not lambda_lane_fits({**figures, "longest_protein": LAMBDA_LANE_LIMITS["longest_protein"] + 1})


def test_both_lanes_give_byte_identical_results(stack: EmulatedStack) -> None:
    outputs = {}
    for lane in ("lambda", "batch"):
        job_id, description, report = run(stack, {"seq_regions": demo_entries(), "lane": lane})
        assert description["status"] == "SUCCEEDED" and report["lanes"] == {"retrieval": lane, "alignment": lane}
        steps = ("RetrieveInLambda", "AlignInLambda") if lane == "lambda" else ("RetrieveSequences", "AlignProteins")
        assert set(steps) <= set(entered(stack, description))
        outputs[lane] = [stack.read(f"results/{job_id}/{name}") for name in ("alignment-output.aln",)]
        outputs[lane].append(stack.read(f"results/{job_id}/aligned_seq_info.json"))
    assert outputs["lambda"] == outputs["batch"]


def test_a_small_job_takes_the_lambda_lane_and_a_large_one_the_batch_lane(stack: EmulatedStack) -> None:
    _, description, report = run(stack, {"seq_regions": demo_entries()})
    assert report["lanes"] == {"retrieval": "lambda", "alignment": "lambda"}
    assert not {"RetrieveSequences", "AlignProteins"} & set(entered(stack, description))
    many = [dict(demo_entries()[0], unique_entry_id=f"e{n}") for n in range(LAMBDA_LANE_LIMITS["entries"] + 1)]
    _, description, report = run(stack, {"seq_regions": many})
    assert description["status"] == "SUCCEEDED" and report["lanes"] == {"retrieval": "batch", "alignment": "batch"}
    assert not {"RetrieveInLambda", "AlignInLambda"} & set(entered(stack, description))


def test_a_failed_lambda_lane_falls_back_to_the_batch_lane(stack: EmulatedStack) -> None:
    stack.faults.raise_errors["RetrieveFunction"] = 1  # the function fails (as a time-out or a crash would)
    _, description, report = run(stack, {"seq_regions": demo_entries()})
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"
    assert entered(stack, description)[1:4] == ["ChooseLane", "RetrieveInLambda", "RetrieveSequences"]
    assert report["lanes"]["retrieval"] == report["lanes"]["alignment"] == "batch"  # the job stays in its lane
    assert report["lanes"]["fallback"].startswith("the Lambda lane's retrieval failed (ConnectionError: ")


def test_a_failed_lambda_alignment_falls_back_to_the_batch_alignment(stack: EmulatedStack) -> None:

    stack.faults.raise_errors["AlignFunction"] = 1
    _, description, report = run(stack, {"seq_regions": demo_entries()})
    (said,) = [line for line in report_lines(report) if line.startswith("lanes: ")]
    assert said.startswith("lanes: retrieval lambda, alignment batch; the Lambda lane's alignment failed (")
    assert description["status"] == "SUCCEEDED" and report["status"] == "completed"
    steps = entered(stack, description)
    assert steps[steps.index("AlignInLambda") + 1] == "AlignProteins"
    assert report["lanes"]["retrieval"] == "lambda" and report["lanes"]["alignment"] == "batch"
    assert report["lanes"]["alignment_fallback"].startswith("the Lambda lane's alignment failed (ConnectionError: ")


def test_an_unknown_lane_is_a_validation_error(stack: EmulatedStack) -> None:
    _, description, report = run(stack, {"seq_regions": demo_entries(), "lane": "fastest"})
    assert description["status"] == "FAILED" and description["error"] == "RequestValidationError"
    assert "'fastest' is not a lane: 'lambda' or 'batch'" in report["error"]["cause"]


def test_a_denied_lambda_lane_is_a_loud_configuration_error(stack: EmulatedStack) -> None:
    """Issue 23, item 4: a fallback because the state machine may not call the function is the
    deployment's fault, said in the report and its log, not only absorbed by the Batch lane."""

    role = stack.principals["PipelineStateMachineRole"]
    saved = list(role.policies)
    arn = stack.functions["RetrieveFunction"].arn
    role.policies[:] = [p for p in saved if arn not in json.dumps(p)]  # a deployment without that permission
    try:
        _, description, report = run(stack, {"seq_regions": demo_entries()})
    finally:
        role.policies[:] = saved
    assert description["status"] == "SUCCEEDED" and report["lanes"]["retrieval"] == "batch"
    assert report["lanes"]["fallback_reason"] == "AccessDenied"
    assert "configuration error" in report["lanes"]["configuration_error"]
    assert any(
        line.startswith("CONFIGURATION ERROR: the state machine is not allowed") for line in report_lines(report)
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("Lambda.AccessDeniedException", "AccessDenied"),
        ("Lambda.ResourceNotFoundException", "FunctionNotFound"),
        ("Lambda.ResourceNotReadyException", "FunctionNotReady"),
        ("Lambda.TooManyRequestsException", "Throttled"),
        ("States.Timeout", "Timeout"),
        ("Sandbox.Timedout", "Timeout"),
        ("ConnectionError", "FunctionError"),
    ],
)
def test_each_fallback_has_a_reason(error: str, reason: str) -> None:
    from pavi.aws.lanes import configuration_error, fallback_reason

    assert fallback_reason(error) == reason
    assert (configuration_error("retrieval", reason) is not None) == (reason in {"AccessDenied", "FunctionNotFound"})


def test_famsa_aligns_in_both_lanes_alike_and_the_report_says_so(stack: EmulatedStack) -> None:
    """Issue 29: a request that names FAMSA is aligned by FAMSA in the Lambda lane (the alignment
    function) and in the Batch lane (the job definition's command, --aligner from the state), with
    the same Clustal file; the report's provenance names the aligner, its version and why."""
    alignments = {}
    for lane in ("lambda", "batch"):
        job, description, report = run(stack, {"seq_regions": demo_entries(), "aligner": "famsa", "lane": lane})
        assert description["status"] == "SUCCEEDED" and report["lanes"]["alignment"] == lane, report["lanes"]
        aligned = report["provenance"]["alignment"]
        assert aligned["aligner"] == "famsa" and aligned["famsa"].startswith("FAMSA 2.5.2")
        assert aligned["aligner_chosen_because"] == "named in the request"
        alignments[lane] = stack.read(f"results/{job}/alignment-output.aln")
        if lane == "batch":  # the task the model sized, passed to Batch as container overrides (item 1)
            (task,) = [j for j in list(stack.batch.jobs.values()) if j.name == f"pavi-align-{job}"]
            assert task.memory == 4096  # the template's floor: the demo needs far less
            assert task.command[task.command.index("--threads") + 1] == "1"  # threads: the task's vCPUs
            sized = aligned["task"]  # the report shows the task and why (item 5)
            assert (sized["vcpus"], sized["memory"], sized["threads"]) == ("1", "4096", "1"), sized
            assert sized["chosen_because"] == "the cheapest task that aligns within the 900-s target"
            (said,) = [line for line in report_lines(report) if line.startswith("aligner: ")]
            assert said.startswith("aligner: famsa (named in the request); task 1 vCPU, 4096 MiB, modelled "), said
        else:
            assert "task" not in aligned  # the Lambda lane's alignment function, not a Batch task
        assert alignments[lane].startswith(b"CLUSTAL FAMSA 2.5.2 (pyfamsa 0.7.0) multiple sequence alignment")
    assert alignments["lambda"] == alignments["batch"]
    _, _, report = run(stack, {"seq_regions": demo_entries()})  # no aligner named: a small job keeps Clustal Omega
    assert report["provenance"]["alignment"]["aligner"] == "clustalo"
    # the demo's 2 entries, each with variants: at most 4 sequences (references and alternatives)
    assert report["provenance"]["alignment"]["aligner_chosen_because"] == "up to 4 sequences: Clustal Omega up to 1,000"


def test_a_retrieval_child_reads_its_share_and_the_genomes_its_entries_name(
    stack: EmulatedStack, tmp_path: Path
) -> None:
    """Issue 29: the validation writes one file a retrieval child (its share of the entries); each
    child of the array reads its own, and the local Batch host gives its container the genome
    folders those entries name (a genome of its own, in a folder no other test uses)."""
    from support.genomes import GeneDesign, write_fasta

    tmp_path.chmod(0o755)  # the containers run as the images' user
    gene = GeneDesign().on_strand("+")
    url = str(write_fasta(tmp_path, {"chrT": gene.genome}))
    entries = [gene.entry(url, unique_entry_id=f"entry_{n}") for n in range(5)]
    job, description, report = run(stack, {"seq_regions": entries, "lane": "batch"})
    assert description["status"] == "SUCCEEDED" and report["counts"]["sequences"] == 5, report.get("error")
    shares = stack.s3.list_objects_v2(Bucket="pavi-local", Prefix=f"work/{job}/entries/")["Contents"]
    assert [item["Key"].rsplit("/", 1)[1] for item in shares] == ["share-00000.json", "share-00001.json"]
    manifest = json.loads(stack.read(f"work/{job}/manifest.json"))
    assert manifest["per_share"] == 3  # 5 entries in Batch's least array of 2 children
    children = [j for j in stack.batch.jobs.values() if j.name.startswith(f"pavi-retrieve-{job}")]
    assert children, [j.name for j in stack.batch.jobs.values()]
