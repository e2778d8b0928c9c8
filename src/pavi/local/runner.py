"""``pavi run``: one job through the unmodified state machine, on this machine.

Starts :class:`pavi.local.stack.EmulatedStack`, submits the payload as the API would, shows progress
as the states complete, copies the job's results out of the local S3 into ``--out`` and
ends with a summary. Exit status: 0 completed, 1 failed (the report printed), 2 invalid
request (every problem listed).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from pavi.aws.joblog import STEP_NAMES, readable_log, report_lines
from pavi.aws.lanes import share
from pavi.local.batch_host import BatchJob
from pavi.local.stack import INTERPRETER_LOG, LOCAL_BUCKET, EmulatedStack

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def absolute_fasta_urls(payload: Any, base: Path) -> Any:
    """Relative ``fasta_file_url`` paths (and ``file://`` relative ones) resolved against ``base``."""
    entries = payload.get("seq_regions") if isinstance(payload, dict) else payload
    if not isinstance(entries, list):
        return payload
    for entry in entries:
        url = entry.get("fasta_file_url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url:
            continue
        if "://" not in url and not Path(url).is_absolute():
            entry["fasta_file_url"] = str(base / url)
        elif url.startswith("file://") and not urlsplit(url).path.startswith("/"):
            entry["fasta_file_url"] = str(base / url.removeprefix("file://"))
    return payload


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one interval."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


class Progress:
    """Lines on stderr as the execution's states complete."""

    def __init__(self, total: int | None, stream: TextIO):
        self.total = total
        self.stream = stream
        self.done = self.failed = 0
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=self.stream, flush=True)

    def children(self, children: list[BatchJob]) -> None:
        """The retrieval array job's children as they end: the entries of those done."""
        ended = [c for c in children if c.status in {"SUCCEEDED", "FAILED"}]
        failed = [c for c in ended if c.status == "FAILED"]
        if (len(ended), len(failed)) == (self.done, self.failed) or not children:
            return
        self.done, self.failed = len(ended), len(failed)
        total = self.total or 0
        per_child = int(children[0].command[children[0].command.index("--per-child") + 1])
        entries = sum(len(share(c.array_index or 0, per_child, total)) for c in ended if c.status == "SUCCEEDED")
        lost = sum(len(share(c.array_index or 0, per_child, total)) for c in failed)
        self.say(
            f"retrieval: {entries} of {total} entries done ({self.done} of {len(children)} array children ended"
            + (f"; {len(failed)} failed, with {lost} entries)" if failed else ")")
        )

    def event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name in STEP_NAMES and name != "ValidateInput":
                self.say(f"{STEP_NAMES[name]}…")


def copy_results(stack: EmulatedStack, job_id: str, out: Path) -> list[Path]:
    """The job's results, its per-entry files (``sequences/``: those its shares hold, each file
    as ``pavi retrieve`` writes it) and request, out of the local S3."""
    from pavi.domain.retrieval import SHARE_SUFFIX, unpack_share

    written = []
    for prefix, target in ((f"results/{job_id}/", out), (f"work/{job_id}/sequences/", out / "sequences")):
        for key in stack.keys(prefix):
            data = stack.read(key)
            name = key.removeprefix(prefix)
            files = unpack_share(data.decode()) if name.endswith(SHARE_SUFFIX) else {name: data}
            for name, content in files.items():
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content.encode() if isinstance(content, str) else content)
                written.append(path)
    return written


def run(
    payload_path: str,
    out: str | None,
    stream: TextIO = sys.stderr,
    timeout: float = 3600,
    lane: str | None = None,
    parameters: dict[str, str] | None = None,
    aligner: str | None = None,
) -> int:
    """One job through the local stack; ``lane`` (``lambda`` or ``batch``) forces a lane, else
    the state machine chooses as it does on AWS; ``aligner`` names the request's aligner."""
    began = time.monotonic()
    path = Path(payload_path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as unreadable:
        print(f"pavi run: cannot read the payload {payload_path}: {unreadable}", file=stream)
        return EXIT_FAILED
    payload = absolute_fasta_urls(payload, path.resolve().parent)
    entries = payload.get("seq_regions") if isinstance(payload, dict) else payload
    if lane:
        payload = {**(payload if isinstance(payload, dict) else {"seq_regions": payload}), "lane": lane}
    if aligner:  # the request's own field, as an API client names it
        payload = {**(payload if isinstance(payload, dict) else {"seq_regions": payload}), "aligner": aligner}
    total = len(entries) if isinstance(entries, list) else None
    job_id = str(uuid.uuid4())
    folder = Path(out) if out else Path("pavi-results") / job_id
    folder.mkdir(parents=True, exist_ok=True)
    progress = Progress(total, stream)
    with EmulatedStack(log_dir=folder / "batch-logs", parameters=parameters) as stack:
        progress.say(f"job {job_id}: {total if total is not None else '?'} entries, state machine started locally")
        _, arn = stack.start(payload, job_id)
        execution_began = time.monotonic()
        deadline = time.monotonic() + timeout
        history = []
        retrieval = f"pavi-retrieve-{job_id}"
        # the whole history, as it happens, and the retrieval children as they end
        for event in stack.events(arn, between=lambda: progress.children(stack.batch.children_of(retrieval))):
            history.append(event)
            progress.event(event)
            if time.monotonic() > deadline:
                stack.sfn.stop_execution(executionArn=arn, error="LocalTimeout", cause=f"over {timeout}s")
        description = stack.sfn.describe_execution(executionArn=arn)
        execution = time.monotonic() - execution_began
        copy_results(stack, job_id, folder)
        report_path = folder / "job-report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        interpreter = folder / "batch-logs" / INTERPRETER_LOG
        said = interpreter.read_text(errors="replace") if interpreter.exists() else ""
        heading = "\n# the local interpreter's messages (moto; for debugging the local stack)\n"
        (folder / "run.log").write_text(readable_log(history, report) + (heading + said if said else ""))
        wall = time.monotonic() - began
        working = union_seconds(stack.work_intervals())
    status = description["status"]
    error = description.get("error", "")
    print("", file=stream)
    if status == "SUCCEEDED":
        print(f"job {job_id} completed", file=stream)
    elif error == "RequestValidationError":
        print(f"job {job_id}: the request is invalid\n{description.get('cause', '')}", file=stream)
    else:
        print(f"job {job_id} {status.lower()}: {error}: {description.get('cause', '')}", file=stream)
    if report and error != "RequestValidationError":
        print("\n".join(report_lines(report)), file=stream)
    orchestration = max(0.0, execution - working)
    print(
        f"time: {wall:.1f}s in all; the execution {execution:.1f}s: steps working {working:.1f}s, "
        f"state machine {orchestration:.1f}s ({100 * orchestration / max(execution, 1e-9):.0f}%); "
        f"local setup {wall - execution:.1f}s",
        file=stream,
    )
    if report is not None:  # the job's picture and page (issue 31)
        from pavi.domain.job_page import write_page

        try:
            written, seconds = write_page(folder)
            print(f"page: {folder / 'report.html'} ({', '.join(written)} in {seconds:.1f}s)", file=stream)
        except Exception as failure:  # the results are all there: a page that cannot be drawn loses nothing
            print(f"page: not written ({type(failure).__name__}: {failure}); pavi report {folder} retries", file=stream)
    print(f"results: {folder}/  (log: {folder / 'run.log'}; local bucket was s3://{LOCAL_BUCKET})", file=stream)
    if status == "SUCCEEDED":
        return EXIT_OK
    return EXIT_INVALID if error == "RequestValidationError" else EXIT_FAILED
