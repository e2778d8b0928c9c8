"""A job in its store (an ``s3://bucket`` or a local folder): where its files are, and its report.

Layout of a job in its store (an ``s3://bucket`` or a local folder)::

    work/{job_id}/manifest.json            the validated request's entry IDs
    work/{job_id}/entries/share-{n}.json   normalised entries, one retrieval child's share (its input)
    work/{job_id}/sequences/               {entry_id}-protein.fa, {entry_id}-seqinfo.json
    work/{job_id}/seqinfo.json             all seqinfo maps, by entry (for the collection)
    work/{job_id}/prepared.json            failed entries and alternative-protein errors
    results/{job_id}/alignment-input.fa
    results/{job_id}/alignment-output.aln
    results/{job_id}/aligned_seq_info.json
    results/{job_id}/job-report.json       status, counts, per-entry errors, step timings
    results/{job_id}/alignment.{fasta,sto,phy,msf,nex}, identity-matrix.tsv,
                     variant-columns.{tsv,json}   (EXTRA_RESULTS: issue 21)

``work/`` is scratch (the bucket's lifecycle expires it); ``results/`` is what users read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pavi.domain import storage
from pavi.domain.errors import PaviError

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def write_share(paths: JobPaths, index: int, entries: list[Any]) -> None:
    """Write the entries' share ``index`` (normalised entries: pydantic models), unless it is empty."""
    if entries:
        text = "[" + ",".join(entry.model_dump_json() for entry in entries) + "]"
        storage.write_text(paths.entry_share(index), text, "application/json")


def share_name(index: int) -> str:
    """The name of the entries' share ``index`` (:class:`pavi.aws.lanes.Manifest`)."""
    return f"share-{index:05d}.json"


class JobStateError(PaviError):
    """A step was given a job state it cannot work with (a wiring error of the state machine)."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso_utc(value: str) -> str:
    """One time format in reports: ISO 8601, UTC, ``Z``, milliseconds (Step Functions' own
    ``EnteredTime`` form). Marks come from the steps (``now_iso``) and from the state machine's
    context object, which the local interpreter writes with ``+00:00`` and microseconds."""
    return _parse_time(value).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class JobPaths:
    """Where a job's files are, in its store (``s3://bucket`` or a local folder)."""

    store: str
    job_id: str

    def __post_init__(self) -> None:
        if not JOB_ID.match(self.job_id):
            raise JobStateError(f"job id {self.job_id!r} must be 1-80 letters, digits, '-' or '_'")

    @property
    def work(self) -> str:
        return storage.join(self.store, f"work/{self.job_id}")

    @property
    def entries(self) -> str:
        return storage.join(self.work, "entries") + "/"

    @property
    def sequences(self) -> str:
        return storage.join(self.work, "sequences") + "/"

    def entry_share(self, index: int) -> str:
        """The file of the entries' share ``index``: a list, one retrieval child's (the manifest's ``per_share``)."""
        return storage.join(self.entries, share_name(index))

    @property
    def request(self) -> str:
        return storage.join(self.work, "request.json")

    @property
    def manifest(self) -> str:
        return storage.join(self.work, "manifest.json")

    @property
    def merged_seqinfo(self) -> str:
        return storage.join(self.work, "seqinfo.json")

    @property
    def prepared(self) -> str:
        return storage.join(self.work, "prepared.json")

    @property
    def alignment_error(self) -> str:
        """What the alignment job says when Clustal Omega fails or the attempt is stopped."""
        return storage.join(self.work, "alignment-error.txt")

    @property
    def results(self) -> str:
        return storage.join(self.store, f"results/{self.job_id}") + "/"

    @property
    def alignment_input(self) -> str:
        return storage.join(self.results, "alignment-input.fa")

    @property
    def alignment_output(self) -> str:
        return storage.join(self.results, "alignment-output.aln")

    @property
    def aligned_seq_info(self) -> str:
        return storage.join(self.results, "aligned_seq_info.json")

    @property
    def alignment_run(self) -> str:
        """The alignment's own account (Clustal Omega's version and command), for the report."""
        return storage.join(self.work, "alignment-run.json")

    @property
    def guide_tree(self) -> str:
        """Clustal Omega's guide tree (Newick), written by the alignment beside its output."""
        return storage.join(self.results, "guide-tree.dnd")

    @property
    def report(self) -> str:
        return storage.join(self.results, "job-report.json")

    def result(self, name: str) -> str:
        """Another result file of the job (the alignment's other formats, the tables)."""
        return storage.join(self.results, name)

    @classmethod
    def of(cls, state: dict[str, Any]) -> JobPaths:
        try:
            return cls(state["store"], state["job_id"])
        except (KeyError, TypeError) as error:
            raise JobStateError(f"the job state lacks 'store' or 'job_id': {sorted(state)}") from error


def write_json(location: str, value: Any) -> None:
    storage.write_text(location, json.dumps(value, indent=1) + "\n", "application/json")


def read_json(location: str) -> Any:
    return json.loads(storage.read_bytes(location))


# The alignment in each format the API serves: format -> (file in the job's results, media type).
ALIGNMENT_FORMATS = {
    "clustal": ("alignment-output.aln", "text/plain; charset=utf-8"),
    "fasta": ("alignment.fasta", "text/plain; charset=utf-8"),
    "stockholm": ("alignment.sto", "text/plain; charset=utf-8"),
    "phylip": ("alignment.phy", "text/plain; charset=utf-8"),
    "msf": ("alignment.msf", "text/plain; charset=utf-8"),
    "nexus": ("alignment.nex", "text/plain; charset=utf-8"),
}
# What the collection writes beside the alignment (issue 21): report key -> file name.
EXTRA_RESULTS = {
    **{f"alignment_{fmt}": name for fmt, (name, _) in ALIGNMENT_FORMATS.items() if fmt != "clustal"},
    "guide_tree": "guide-tree.dnd",
    "identity_matrix": "identity-matrix.tsv",
    "variant_columns": "variant-columns.tsv",
    "variant_columns_json": "variant-columns.json",
}
MEDIA_TYPES = {
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",  # the job's page and picture (issue 31)
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
TEXT = "text/plain; charset=utf-8"  # any other result
STORE_WRITERS = 16  # files written to the store at once

STEP_MARKS = (
    ("validation", "started_at", "validated_at"),
    ("retrieval", "validated_at", "prepare_entered_at"),
    ("preparation", "prepare_entered_at", "prepared_at"),
    ("alignment", "prepared_at", "collect_entered_at"),
    ("collection", "collect_entered_at", "collected_at"),
)


def step_timings(timings: dict[str, str], last_step: str | None = None) -> list[dict[str, Any]]:
    """Each step's start, end and seconds, from the marks the steps left in the state
    (``last_step``: the last step a failed job reached, when the next never started)."""
    steps = []
    for name, start_mark, end_mark in STEP_MARKS:
        start, end = timings.get(start_mark), timings.get(end_mark) or timings.get("failed_at")
        if not start or not end:
            continue
        seconds = (_parse_time(end) - _parse_time(start)).total_seconds()
        steps.append({"step": name, "started_at": start, "ended_at": end, "seconds": round(seconds, 3)})
        if end_mark not in timings or last_step == name:
            break  # the step the job failed in, or the last it reached (nothing was left to align)
    return steps


def job_report(
    paths: JobPaths,
    status: str,
    counts: dict[str, Any],
    prepared: dict[str, Any],
    timings: dict[str, str],
    error: dict[str, str] | None = None,
    last_step: str | None = None,
) -> dict[str, Any]:
    """The machine-readable account of a job (``job-report.json``); every time in one format
    (:func:`iso_utc`); ``last_step``: the last step a failed job reached (:func:`step_timings`)."""
    timings = {mark: iso_utc(value) for mark, value in timings.items() if isinstance(value, str) and value}
    ended = timings.get("collected_at") or timings.get("failed_at") or now_iso()
    started = timings.get("started_at")
    report: dict[str, Any] = {
        "job_id": paths.job_id,
        "status": status,
        "counts": counts,
        "lanes": prepared.get("lanes"),
        "failed_entries": prepared.get("failed_entries", []),
        "alternative_errors": prepared.get("alternative_errors", []),
        "excluded_entries": prepared.get("excluded_entries", []),
        "started_at": started,
        "ended_at": ended,
        "seconds": round((_parse_time(ended) - _parse_time(started)).total_seconds(), 3) if started else None,
        "steps": step_timings(timings, last_step),
        "results": {
            "alignment": paths.alignment_output if status == "completed" else None,
            "aligned_seq_info": paths.aligned_seq_info if status == "completed" else None,
            "alignment_input": paths.alignment_input,
            **({key: paths.result(name) for key, name in EXTRA_RESULTS.items()} if status == "completed" else {}),
        },
    }
    if prepared.get("provenance"):
        report["provenance"] = prepared["provenance"]
    if error:
        report["error"] = error
    return report
