"""The job's steps as plain functions of the job state.

The state machine passes a small JSON *job state* from step to step (Step Functions caps
state at 256 KB, so entries, sequences and reports live in the job's store and the state
holds their locations). Each Lambda handler is a thin adapter over one function here, and
the local runner calls the same handlers, so no step is written twice.

The job's files and report: :mod:`pavi.aws.job_store`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pavi.aws import job_requests
from pavi.aws.alignment_task import plan_alignment
from pavi.aws.caught import MAX_ERROR_CHARS, alignment_lane, error_of, field, lanes_taken
from pavi.aws.job_store import (
    STORE_WRITERS,
    JobPaths,
    JobStateError,
    job_report,
    now_iso,
    read_json,
    write_json,
    write_share,
)
from pavi.aws.lanes import (
    DEFAULT_ENTRIES_PER_CHILD,
    LANES,
    lane_figures,
    plan_array,
    read_manifest,
)
from pavi.aws.results import provenance, summary, write_views
from pavi.domain import storage
from pavi.domain.errors import PaviError, Problem, RequestValidationError
from pavi.domain.request import Job, parse_job, requested_aligner
from pavi.domain.url_policy import UrlPolicy

LAMBDA_WORKERS = 16  # entries retrieved at once in the Lambda lane (I/O: ranged reads and S3 writes)
# Entries named in the state on failure; the report in the store names all of them.
FAILED_NAMED_IN_STATE = 10


class EntriesFailed(PaviError):
    """Entries' reference sequences failed: the job cannot be aligned (SPEC section 5)."""


def url_problems(job: Job, policy: UrlPolicy) -> list[Problem]:
    """Each entry whose ``fasta_file_url`` the allow-list refuses (no request is made to it)."""
    problems = []
    for index, entry in enumerate(job.seq_regions):
        try:
            policy.check(entry.fasta_file_url)
        except PaviError as error:
            problems.append(Problem(index, "fasta_file_url", str(error)))
    return problems


def validate_job(
    execution_input: Any,
    job_id: str,
    store: str,
    started_at: str | None = None,
    policy: UrlPolicy | None = None,
    entries_per_child: int = DEFAULT_ENTRIES_PER_CHILD,
    keep_request: bool = False,
    execution_id: str | None = None,
    hands_off_to: str | None = None,
) -> dict[str, Any]:
    """Validation step: claim the job ID for this execution (``execution_id``; a job ID another
    execution runs, or that has results, raises :class:`~pavi.aws.job_requests.JobIdClaimed` before
    anything of the job is read or written), check the request (every problem listed, the
    allow-list included), write each normalised entry and the manifest, and return the job state:
    locations, and how the retrieval array job shares the entries out (its size does not grow
    with them). The request is this job's own ``work/{job}/request.json`` by reference
    (:func:`pavi.aws.job_requests.kept_request`), or inline (an operator's input), then kept there
    once valid.
    ``keep_request`` (the Express workflow): the state names the kept request (``request``), so
    that the job can be handed to the Standard workflow (``hands_off_to``) by reference."""
    paths = JobPaths(store, job_id)
    if execution_id is not None:
        job_requests.claim_execution(paths, execution_id, hands_off_to)
    lane = execution_input.get("lane", "auto") if isinstance(execution_input, dict) else "auto"
    if lane not in {"auto", *LANES}:
        raise RequestValidationError([Problem(None, "lane", f"{lane!r} is not a lane: 'lambda' or 'batch'")])
    inline = not job_requests.by_reference(execution_input)
    request = execution_input if inline else job_requests.kept_request(execution_input, paths)
    requested = requested_aligner(request)
    job = parse_job(request)
    problems = url_problems(job, policy or UrlPolicy.from_env())
    if problems:
        raise RequestValidationError(problems)
    if inline:  # an operator's input: the job ID's request from now on
        job_requests.claim_request(paths, job_requests.canonical_request(request))
    entry_ids = [entry.unique_entry_id for entry in job.seq_regions]
    array = plan_array(len(entry_ids), entries_per_child)
    with ThreadPoolExecutor(STORE_WRITERS) as pool:  # one file a retrieval child: its share of the entries
        shares = [
            job.seq_regions[array.share(index).start : array.share(index).stop] for index in range(array.children)
        ]
        list(pool.map(lambda index: write_share(paths, index, shares[index]), range(len(shares))))
    manifest = {"job_id": job_id, "entries": paths.entries, "entry_ids": entry_ids, "per_share": array.per_child}
    write_json(paths.manifest, manifest)
    kept = {"request": job_requests.reference(paths, job_requests.canonical_request(request))} if keep_request else {}
    figures = lane_figures(job.seq_regions)
    alignment = plan_alignment(job, requested, figures["longest_protein"])  # aligner and task (issue 29)
    return {
        **kept,
        "job_id": job_id,
        "store": store,
        "entry_count": len(entry_ids),
        "lane": lane,  # "auto": the state machine chooses by the figures
        "figures": figures,
        **alignment,
        "array": array.state(),
        "manifest": paths.manifest,
        "entries_prefix": paths.entries,
        "sequences": paths.sequences,
        "alignment_input": paths.alignment_input,
        "alignment_output": paths.alignment_output,
        "alignment_error": paths.alignment_error,
        "guide_tree": paths.guide_tree,
        "alignment_run": paths.alignment_run,
        "timings": {"started_at": started_at or now_iso(), "validated_at": now_iso()},
    }


def retrieve_in_lambda(state: dict[str, Any], workers: int = LAMBDA_WORKERS) -> dict[str, Any]:
    """The Lambda lane's retrieval: every entry of the job, in this one invocation, ``workers``
    at a time (the same code as a Batch child's share). An entry's own failure is data, as in
    the Batch lane; a storage failure raises, and the state machine falls back to the Batch lane."""
    from pavi.domain.retrieval import retrieve_all  # Biopython: only this step and the Batch jobs need it

    paths = JobPaths.of(state)
    manifest = read_manifest(paths.manifest)
    job = parse_job(manifest.payloads())
    results = retrieve_all(job.seq_regions, paths.sequences, workers, one_file=True)
    failed = sum(result.reference_failed for result in results)
    return {"lane": "lambda", "entries": len(results), "entries_failed": failed}


class ClustalOmegaFailed(PaviError):
    """Clustal Omega itself failed on the job's input: another lane would fail the same way."""


def align_in_lambda(state: dict[str, Any]) -> dict[str, str]:
    """The Lambda lane's alignment: Clustal Omega 1.2.4 (the alignment image's, with the same
    flags as the Batch job: one thread) on the job's alignment input. Clustal Omega's own
    failure is written where the Batch job writes it and raised as :class:`ClustalOmegaFailed`
    (the state machine records it); anything else raises as it is, and the job falls back to
    the Batch lane."""
    from pavi.domain.alignment import AlignmentError, align_with_tree

    paths = JobPaths.of(state)
    fasta = storage.read_text(paths.alignment_input)
    run: dict[str, str] = {"lane": "lambda"}
    try:
        clustal, tree = align_with_tree(fasta, threads=1, run=run, aligner=str(state.get("aligner") or "clustalo"))
    except AlignmentError as error:
        storage.write_text(paths.alignment_error, f"{error}\n")
        raise ClustalOmegaFailed(str(error)) from error
    storage.write_text(paths.guide_tree, tree)
    write_json(paths.alignment_run, run)
    storage.write_text(paths.alignment_output, clustal)
    return {"lane": "lambda"}


def _retrieval_failures(state: dict[str, Any], entry_ids: list[str]) -> dict[str, str]:
    """Why each entry of a failed retrieval array job has no files: its child failed after its
    retries (``{}`` when the array job succeeded). Step Functions' error names the array job;
    which child took which entries follows from the plan in the state."""
    caught = state.get("retrieval_error")
    if not isinstance(caught, dict):
        return {}
    _, cause = error_of(caught)
    try:
        parent = field(json.loads(str(caught.get("Cause"))), "jobId")
    except ValueError:
        parent = None
    array = state.get("array") or {}
    per_child = max(1, int(array.get("per_child") or DEFAULT_ENTRIES_PER_CHILD))

    def said(child: int) -> str:
        # the child's own status reason, exit code and log stream: DescribeJobs on {parent}:{index}
        where = f"; its own account: aws batch describe-jobs --jobs {parent}:{child}" if parent else ""
        return f"child {child} of the retrieval array job did not finish ({cause}{where})"

    return {entry_id: said(position // per_child) for position, entry_id in enumerate(entry_ids)}


def prepare_alignment(state: dict[str, Any], entered_at: str | None = None) -> dict[str, Any]:
    """Alignment-input preparation: join the proteins in file-name order, list the failed
    entries, and decide whether the job can go on. Returns the next job state."""
    from pavi.domain.alignment import prepare_input

    entered_at = entered_at or now_iso()
    paths = JobPaths.of(state)
    expected = [str(entry_id) for entry_id in read_json(paths.manifest)["entry_ids"]]
    prepared = prepare_input(paths.sequences, expected)
    batch_failures = _retrieval_failures(state, expected)
    for entry in prepared.failed:
        if entry.entry_id in batch_failures and not entry.sequence_name:
            entry.error = batch_failures[entry.entry_id]
    storage.write_text(paths.alignment_input, prepared.fasta)
    write_json(paths.merged_seqinfo, prepared.seqinfo)
    failed = [f.to_dict() for f in prepared.failed]
    alternative_errors = [f.to_dict() for f in prepared.alternative_errors]
    excluded = [f.to_dict() for f in prepared.excluded]
    lanes = lanes_taken(state)
    write_json(
        paths.prepared,
        {
            "failed_entries": failed,
            "alternative_errors": alternative_errors,
            "excluded_entries": excluded,
            "lanes": lanes,
            "genomes": prepared.genomes,
        },
    )
    dropped = {"array", "retrieval_error", "lambda_lane_error", "retrieved_by"}
    next_state = {key: value for key, value in state.items() if key not in dropped}
    next_state["lane"] = lanes["retrieval"]
    next_state["counts"] = prepared.counts()
    next_state["can_align"] = prepared.can_align
    if not prepared.can_align:
        next_state["failure"] = {
            "error": "EntriesFailed" if prepared.failed else "NothingToAlign",
            "failed_entries": [f["unique_entry_id"] for f in failed[:FAILED_NAMED_IN_STATE]],
        }
    next_state["timings"] = {**state.get("timings", {}), "prepare_entered_at": entered_at, "prepared_at": now_iso()}
    return next_state


def collect_results(
    state: dict[str, Any], entered_at: str | None = None, inline_alignment_bytes: int | None = None
) -> dict[str, Any]:
    """Result collection: ``aligned_seq_info.json`` from the seqinfo maps and the alignment,
    and the job report (status ``completed``). Returns the job's summary: with
    ``inline_alignment_bytes`` (the Express workflow's answer) also every result's location
    and the Clustal text when it is no larger (:func:`pavi.aws.results.summary`)."""
    from pavi.domain.alignment import aligned_seq_info, parse_clustal

    entered_at = entered_at or now_iso()
    paths = JobPaths.of(state)
    try:
        clustal = storage.read_text(paths.alignment_output)
    except FileNotFoundError as error:
        raise JobStateError(f"the alignment {paths.alignment_output} does not exist") from error
    seqinfo = read_json(paths.merged_seqinfo)
    info = aligned_seq_info(seqinfo, parse_clustal(clustal))
    write_json(paths.aligned_seq_info, info)
    not_written, renamed = write_views(paths, clustal, seqinfo, info)  # issue 21's results: pavi.aws.results
    prepared = _read_prepared(paths)
    prepared["lanes"] = {**(prepared.get("lanes") or {}), **alignment_lane(state)}
    prepared["provenance"] = provenance(paths, prepared, state)
    timings = {**state.get("timings", {}), "collect_entered_at": entered_at, "collected_at": now_iso()}
    report = job_report(paths, "completed", state.get("counts", {}), prepared, timings)
    report["results"].update(dict.fromkeys(not_written))
    if not_written:
        report["results_not_written"] = not_written
    if renamed:  # the names PHYLIP cannot carry, and what its file writes instead
        report["phylip_names"] = renamed
    write_json(paths.report, report)
    brief = {"job_id": paths.job_id, "status": "completed", "counts": report["counts"], "results": paths.results}
    brief["lanes"] = report.get("lanes")
    if inline_alignment_bytes is None:
        return {**brief, "timings": timings}
    return {**brief, **summary(report, clustal, inline_alignment_bytes)}


def _read_prepared(paths: JobPaths) -> dict[str, Any]:
    try:
        prepared: dict[str, Any] = read_json(paths.prepared)
        return prepared
    except FileNotFoundError:
        return {"failed_entries": [], "alternative_errors": []}


def _alignment_said(paths: JobPaths) -> str:
    """The alignment job's own account of its failure (Clustal Omega's message, or that the
    attempt was stopped), when it could write one."""
    try:
        return storage.read_text(paths.alignment_error).strip()
    except FileNotFoundError:
        return ""


def record_failure(state: dict[str, Any], store: str, job_id: str, entered_at: str | None = None) -> dict[str, Any]:
    """Failure recording: write the job report (status ``failed``) beside the results, and
    return the ``error``/``cause`` the state machine's Fail state shows.

    ``state`` is whatever state the failing step had (with the caught error under
    ``error``) or the preparation's state with its ``failure``; ``store`` and ``job_id``
    come from the deployment and the execution's name, so a request that failed its
    validation gets a report too.
    """
    entered_at = entered_at or now_iso()
    paths = JobPaths(str(state.get("store") or store), str(state.get("job_id") or job_id))
    failure = state.get("failure") or {}
    prepared = _read_prepared(paths)  # absent (empty) when the job failed before its preparation
    if "error" in state and isinstance(state["error"], dict):
        name, cause = error_of(state["error"])
        said = _alignment_said(paths) if "pavi-align-" in cause else ""
        cause = f"{said} ({cause})" if said else cause
    elif "Error" in state:  # the validation's catcher replaces the whole state with the error
        name, cause = error_of(state)
    elif failed := prepared.get("failed_entries"):
        name = str(failure.get("error") or "EntriesFailed")
        named = "; ".join(f"{f['unique_entry_id']}: {f['error']}" for f in failed[:FAILED_NAMED_IN_STATE])
        more = f" (and {len(failed) - FAILED_NAMED_IN_STATE} more)" if len(failed) > FAILED_NAMED_IN_STATE else ""
        cause = f"{len(failed)} entr{'y' if len(failed) == 1 else 'ies'} failed: {named}{more}"
    else:
        name = str(failure.get("error") or "JobFailed")
        cause = "no sequence was left to align" if name == "NothingToAlign" else "the job failed"
    cause = cause[:MAX_ERROR_CHARS]
    # A Fail state may not raise a name of the reserved States.* family: States.TaskFailed -> TaskFailed
    name = name.removeprefix("States.")
    timings = {**state.get("timings", {}), "failed_at": entered_at}
    last_step = "preparation" if state.get("can_align") is False else None  # it ended the job: nothing aligned
    error = {"error": name, "cause": cause}
    report = job_report(paths, "failed", state.get("counts", {}), prepared, timings, error, last_step)
    write_json(paths.report, report)
    return {"job_id": paths.job_id, "status": "failed", "error": name, "cause": cause, "report": paths.report}
