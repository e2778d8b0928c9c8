"""The ``pavi`` command line.

``pavi retrieve PAYLOAD --out DIR`` retrieves every entry of a payload in parallel and
writes ``DIR/{unique_entry_id}-protein.fa`` and ``DIR/{unique_entry_id}-seqinfo.json``.
PAYLOAD (a path, ``file://`` or ``s3://``) holds a JSON list of entries,
``{"seq_regions": [...]}``, or a single entry object: the single-entry form is what the
retrieval Batch job runs (``pavi retrieve s3://.../entries/ID.json --out s3://.../sequences/``).

Exit status: 0 when every entry's files were written (an entry's own failure is data,
recorded in its seqinfo and reported on stderr); 1 when files could not be written or the
payload could not be read; 2 for an invalid request, with every problem listed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pavi.domain import storage
from pavi.domain.errors import PaviError, RequestValidationError
from pavi.domain.request import Entry, Job, parse_job
from pavi.domain.retrieval import retrieve_all
from pavi.job_command import add_job_command
from pavi.local_commands import add_local_commands
from pavi.page_command import add_page_command

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
EXIT_STOPPED = 128 + signal.SIGTERM  # as a shell reports a process SIGTERM ended


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_payload(location: str) -> Any:
    """The JSON of a payload file (path, ``file://`` or ``s3://``)."""
    return json.loads(storage.read_bytes(location))


def resolve_local_urls(entries: list[Entry], payload_location: str) -> list[Entry]:
    """Make relative FASTA paths absolute, against the folder of a local payload file."""
    if storage.is_s3(payload_location):
        return entries
    base = storage.local_path(payload_location).resolve().parent
    resolved = []
    for entry in entries:
        url = entry.fasta_file_url
        if "://" not in url and not Path(url).is_absolute():
            entry = entry.model_copy(update={"fasta_file_url": str(base / url)})
        elif url.startswith("file://") and not urlsplit(url).path.startswith("/"):
            entry = entry.model_copy(update={"fasta_file_url": str(base / url.removeprefix("file://"))})
        resolved.append(entry)
    return resolved


def cmd_retrieve(args: argparse.Namespace) -> int:
    started = time.monotonic()
    job = _read_job(lambda: load_payload(args.payload), f"the payload {args.payload}", "retrieve")
    if isinstance(job, int):
        return job
    entries = resolve_local_urls(job.seq_regions, args.payload)
    return _retrieve_and_say(entries, args.out, args.workers, args.quiet, started)


def _read_job(load: Callable[[], Any], what: str, command: str) -> Job | int:
    """The request ``load`` reads, parsed; else the exit status, the reason said."""
    try:
        payload = load()
    except (OSError, ValueError, PaviError) as error:
        _say(f"pavi {command}: cannot read {what}: {error}")
        return EXIT_FAILED
    try:
        return parse_job(payload)
    except RequestValidationError as error:
        _say(f"pavi {command}: {error}")
        return EXIT_INVALID


def _retrieve_and_say(
    entries: list[Entry], out: str, workers: int, quiet: bool, started: float, one_file: bool = False
) -> int:
    try:
        results = retrieve_all(entries, out, workers, None if quiet else _say, one_file)
    except Exception as error:  # storage failures: nothing is reported as complete
        _say(f"pavi retrieve: writing the results to {out} failed: {type(error).__name__}: {error}")
        return EXIT_FAILED
    failed = [r for r in results if r.reference_failed]
    _say(
        f"retrieved {len(results) - len(failed)} of {len(results)} entries into {out} "
        f"in {time.monotonic() - started:.1f}s"
        + (f"; {len(failed)} failed (see their seqinfo files)" if failed else "")
    )
    return EXIT_OK


def cmd_retrieve_share(args: argparse.Namespace) -> int:
    """A child of the retrieval array job: the entries its index selects from the manifest,
    retrieved in one process (:mod:`pavi.aws.lanes`)."""
    from pavi.aws.lanes import array_index_from_env, read_manifest, share

    started = time.monotonic()
    index = args.index if args.index is not None else array_index_from_env()
    try:
        manifest = read_manifest(args.manifest)
    except (OSError, ValueError, KeyError, TypeError, PaviError) as error:
        _say(f"pavi retrieve-share: cannot read the manifest {args.manifest}: {type(error).__name__}: {error}")
        return EXIT_FAILED
    try:
        positions = share(index, args.per_child, len(manifest.entry_ids))
    except ValueError as error:
        _say(f"pavi retrieve-share: {error} ({len(manifest.entry_ids)} entries, {args.per_child} per child)")
        return EXIT_INVALID
    if not positions:
        _say(f"child {index}: no entries to retrieve ({len(manifest.entry_ids)} entries, {args.per_child} per child)")
        return EXIT_OK
    _say(f"child {index}: entries {positions.start + 1}-{positions.stop} of {len(manifest.entry_ids)}")
    job = _read_job(lambda: manifest.payloads(positions), f"an entry under {manifest.entries}", "retrieve-share")
    if isinstance(job, int):
        return job
    # the share's files in one (pavi.domain.retrieval.SHARE_SUFFIX): one S3 request, not two an entry
    return _retrieve_and_say(job.seq_regions, args.out, args.workers, args.quiet, started, one_file=True)


def cmd_align(args: argparse.Namespace) -> int:
    from pavi.domain.alignment import AlignmentError, align_with_tree, aligned_seq_info, parse_clustal, prepare_input

    started = time.monotonic()
    try:
        prepared = prepare_input(args.seq_dir)
    except FileNotFoundError as error:
        _say(f"pavi align: no such folder or prefix: {error}")
        return EXIT_FAILED
    storage.write_text(storage.join(args.out, "alignment-input.fa"), prepared.fasta)
    report: dict[str, Any] = {
        "status": "completed",
        "counts": prepared.counts(),
        "failed_entries": [f.to_dict() for f in prepared.failed],
        "alternative_errors": [f.to_dict() for f in prepared.alternative_errors],
        "excluded_entries": [f.to_dict() for f in prepared.excluded],
    }
    report_location = storage.join(args.out, "job-report.json")
    if not prepared.can_align:
        reason = "reference sequences failed" if prepared.failed else "no sequence to align"
        report.update(status="failed", error={"error": "EntriesFailed" if prepared.failed else "NothingToAlign"})
        report["error"]["cause"] = reason
        storage.write_text(report_location, json.dumps(report, indent=1) + "\n", "application/json")
        _say(f"pavi align: not aligned: {reason} (report: {report_location})")
        for failed in prepared.failed:
            _say(f"  - {failed.entry_id} {failed.sequence_name}: {failed.error}")
        return EXIT_FAILED
    try:
        clustal, tree = align_with_tree(prepared.fasta, args.threads)
    except AlignmentError as error:
        _say(f"pavi align: {error}")
        return EXIT_FAILED
    storage.write_text(storage.join(args.out, "guide-tree.dnd"), tree)
    storage.write_text(storage.join(args.out, "alignment-output.aln"), clustal)
    info = aligned_seq_info(prepared.seqinfo, parse_clustal(clustal))
    storage.write_text(
        storage.join(args.out, "aligned_seq_info.json"), json.dumps(info, indent=1) + "\n", "application/json"
    )
    storage.write_text(report_location, json.dumps(report, indent=1) + "\n", "application/json")
    _say(
        f"aligned {prepared.sequence_count} sequences of {len(prepared.entry_ids)} entries into {args.out} "
        f"in {time.monotonic() - started:.1f}s"
    )
    return EXIT_OK


def cmd_clustalo(args: argparse.Namespace) -> int:
    """The alignment Batch job: one FASTA in, one Clustal file out (local or S3).

    When Clustal Omega fails, or the attempt is stopped (SIGTERM: Batch's time-out or a
    cancelled job), its reason goes to ``--error-out`` for the job's report; Clustal Omega is
    stopped with it and its scratch folder removed.
    """
    from pavi.domain.alignment import AlignmentError, align_with_tree

    def tell(message: str) -> None:
        _say(f"pavi clustalo: {message}")
        if args.error_out:
            try:
                storage.write_text(args.error_out, message + "\n")
            except Exception as error:  # the report then has Batch's reason only
                _say(f"pavi clustalo: could not write {args.error_out} ({error})")

    started = time.monotonic()
    try:
        with stopped_by_sigterm():
            try:
                fasta = storage.read_text(args.input)
            except FileNotFoundError:
                tell(f"the alignment input {args.input} does not exist")
                return EXIT_FAILED
            run = {"lane": "batch"}
            try:
                clustal, tree = align_with_tree(fasta, args.threads, run=run, aligner=args.aligner)
            except AlignmentError as error:
                tell(str(error))
                return EXIT_FAILED
    except Stopped as stop:
        tell(f"the alignment attempt was stopped ({stop}) after {time.monotonic() - started:.0f}s")
        return EXIT_STOPPED
    if args.tree_out:
        storage.write_text(args.tree_out, tree)
    if args.run_out:
        storage.write_text(args.run_out, json.dumps(run, indent=1) + "\n", "application/json")
    storage.write_text(args.out, clustal)
    _say(f"aligned {fasta.count('>')} sequences into {args.out} in {time.monotonic() - started:.1f}s")
    return EXIT_OK


class Stopped(BaseException):
    """SIGTERM arrived: unwinds the work (child processes stopped, scratch removed)."""


@contextlib.contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM into :class:`Stopped` while the block runs. In a container this process is
    PID 1, which gets no default SIGTERM action: without a handler, ``docker stop`` waits its
    grace period and kills everything with SIGKILL, leaving nothing said."""

    def stop(signum: int, _: object) -> None:
        raise Stopped(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield  # a call in a thread (the local Batch host's in-process jobs): signals are the process's
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _retrieval_options(command: argparse.ArgumentParser) -> None:
    """--out, --workers and --quiet, shared by 'pavi retrieve' and 'pavi retrieve-share'."""
    command.add_argument("--out", required=True, help="output folder or s3://bucket/prefix/")
    command.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("PAVI_RETRIEVE_WORKERS", "8")),
        help="entries retrieved at once (default 8; env PAVI_RETRIEVE_WORKERS)",
    )
    command.add_argument("-q", "--quiet", action="store_true", help="no per-entry progress lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pavi", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)

    retrieve = commands.add_parser(
        "retrieve",
        help="retrieve the proteins of a payload's entries",
        description="Retrieve each entry's reference (and alternative) protein and write "
        "{unique_entry_id}-protein.fa and {unique_entry_id}-seqinfo.json into --out.",
    )
    retrieve.add_argument(
        "payload", help="JSON file (path, file:// or s3://): a list of entries, {'seq_regions': [...]} or one entry"
    )
    _retrieval_options(retrieve)
    retrieve.set_defaults(handler=cmd_retrieve)

    share = commands.add_parser(
        "retrieve-share",
        help="retrieve one array-job child's share of a job's entries (the retrieval Batch job)",
        description="Child i of the retrieval array job (AWS_BATCH_JOB_ARRAY_INDEX, or --index) reads the "
        "manifest's entry IDs, takes entries i*K to i*K+K-1, reads each from the manifest's entries prefix "
        "and retrieves them in one process, writing into --out as 'pavi retrieve' does.",
    )
    share.add_argument("manifest", help="the job's manifest.json (path or s3://): entry_ids and entries prefix")
    share.add_argument("--per-child", type=int, required=True, help="entries per child (K)")
    share.add_argument(
        "--index", type=int, default=None, help="this child's index (default AWS_BATCH_JOB_ARRAY_INDEX, else 0)"
    )
    _retrieval_options(share)
    share.set_defaults(handler=cmd_retrieve_share)

    align = commands.add_parser(
        "align",
        help="align the proteins that 'pavi retrieve' wrote",
        description="Join SEQ_DIR's *-protein.fa files in file-name order, align them with Clustal Omega "
        "and write alignment-input.fa, alignment-output.aln and aligned_seq_info.json into --out.",
    )
    align.add_argument("seq_dir", help="folder or s3:// prefix holding the *-protein.fa and *-seqinfo.json files")
    align.add_argument("--out", required=True, help="output folder or s3://bucket/prefix/")
    align.add_argument(
        "--threads", type=int, default=None, help="Clustal Omega threads (default: PAVI_ALIGN_THREADS, else 1)"
    )
    align.set_defaults(handler=cmd_align)

    clustalo = commands.add_parser(
        "clustalo",
        help="run Clustal Omega on one FASTA file (the alignment Batch job)",
        description="clustalo -i INPUT --outfmt=clustal --resno -o OUT, with INPUT and OUT local or s3://; "
        "a single sequence still gives a valid one-sequence Clustal file.",
    )
    clustalo.add_argument("input", help="protein FASTA (path or s3://), e.g. .../alignment-input.fa")
    clustalo.add_argument("--out", required=True, help="the Clustal file to write (path or s3://)")
    clustalo.add_argument(
        "--error-out", default=None, help="where to write why the alignment failed, if it does (path or s3://)"
    )
    clustalo.add_argument("--threads", type=int, default=None, help="threads (default: PAVI_ALIGN_THREADS, else 1)")
    clustalo.add_argument(
        "--aligner", choices=("clustalo", "famsa"), default="clustalo", help="the job's aligner (default clustalo)"
    )
    clustalo.add_argument(
        "--tree-out", default=None, help="where to write the guide tree of the same run, Newick (path or s3://)"
    )
    clustalo.add_argument(
        "--run-out", default=None, help="where to write Clustal Omega's version and command line, JSON (path or s3://)"
    )
    clustalo.set_defaults(handler=cmd_clustalo)

    add_local_commands(commands)
    add_job_command(commands)
    add_page_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
