"""The local stack's retention: a long-running ``pavi serve`` keeps its newest ended jobs only.

In AWS a job's files are objects in S3 and its execution is Step Functions' history: neither
is the API's memory. Here both live in the server's process (moto's S3 and state machine), so
each job kept costs memory (about 0.8 MB, ``docs/benchmarks.md``). :class:`Retention` forgets
the ended jobs past the newest ``keep``: their ``work/`` and ``results/`` objects, their
execution, their Batch jobs, as the bucket's lifecycle rules and the history's 90 days do in
AWS, only sooner (``docs/decisions.md`` §18). A forgotten job is a 404, as an expired one.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from pavi.local.cloudformation import LOCAL_BUCKET

if TYPE_CHECKING:
    from pavi.local.stack import EmulatedStack

logger = logging.getLogger(__name__)
INVOCATIONS_KEPT = 10_000  # the Lambda host's record of invocations (the run summaries use recent ones)


def _state_machine(arn: str) -> Any:
    """moto's state machine (its interpreter's backend, which runs the executions)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from pavi.local.template import ACCOUNT, REGION

    return stepfunctions_parser_backends[ACCOUNT][REGION].describe_state_machine(arn)


def forget_old_jobs(stack: EmulatedStack, keep: int) -> list[str]:
    """Forget the ended jobs past the newest ``keep`` (by end time); returns their IDs."""
    machine = _state_machine(stack.state_machine_arn)
    ended = [e for e in list(machine.executions) if e.status != "RUNNING" and e.stop_date is not None]
    ended.sort(key=lambda e: e.stop_date, reverse=True)
    forgotten = ended[keep:]
    for execution in forgotten:
        job_id = execution.name
        for prefix in (f"work/{job_id}/", f"results/{job_id}/"):
            for page in stack.s3.get_paginator("list_objects_v2").paginate(Bucket=LOCAL_BUCKET, Prefix=prefix):
                keys: list[Any] = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    stack.s3.delete_objects(Bucket=LOCAL_BUCKET, Delete={"Objects": keys, "Quiet": True})
        with contextlib.suppress(ValueError):  # already gone
            machine.executions.remove(execution)
        stack.batch.forget(job_id)
    invocations = stack.lambdas.invocations
    if len(invocations) > INVOCATIONS_KEPT:
        del invocations[: len(invocations) - INVOCATIONS_KEPT]
    names = [execution.name for execution in forgotten]
    if names:  # the walk over moto's objects only when something was let go
        _untrack(names)
    return names


def _untrack(forgotten: list[str]) -> None:
    """Let moto free what it no longer uses. It keeps every model instance it ever made in its
    class's ``instances_tracked`` (for its reset), its interpreter every thread it started,
    and its S3 tagger an entry per object ever written: drop the instances nothing else holds,
    the ended threads and the forgotten jobs' tag entries, or none of it is ever freed."""
    from moto.core import base_backend
    from moto.s3.models import FakeKey, s3_backends
    from moto.stepfunctions.parser.utils import TMP_THREADS

    from pavi.local.template import ACCOUNT

    model_data: dict[str, dict[str, Any]] = base_backend.model_data  # type: ignore[attr-defined]
    TMP_THREADS[:] = [thread for thread in TMP_THREADS if thread.is_alive()]
    backend = s3_backends[ACCOUNT]["aws"]
    prefixes = tuple(f"{LOCAL_BUCKET}/{area}/{job_id}/" for job_id in forgotten for area in ("work", "results"))
    for arn in [arn for arn in backend.tagger.tags if arn.split(":::", 1)[-1].startswith(prefixes)]:
        backend.tagger.tags.pop(arn, None)
    models = [model for service in ("s3", "stepfunctions") for model in model_data[service].values()]
    for _ in range(4):  # an object freed may be what held another one (an ACL its grants)
        freed = sum(_drop_unused(getattr(model, "instances_tracked", []), FakeKey) for model in models)
        if not freed:
            break


def _drop_unused(tracked: list[Any], key_type: type[Any]) -> int:
    """Drop from ``tracked`` the objects nothing else holds; returns how many."""
    # held by the list, this comprehension and getrefcount's argument only: nothing uses it
    unused = {id(item) for item in tracked if sys.getrefcount(item) <= 3}
    if unused:
        for item in tracked:
            if id(item) in unused and isinstance(item, key_type):
                item.dispose()
        tracked[:] = [item for item in tracked if id(item) not in unused]
    return len(unused)


class Retention:
    """A background thread that applies :func:`forget_old_jobs` every ``every`` seconds."""

    def __init__(self, stack: EmulatedStack, keep: int, every: float = 5.0):
        self.stack, self.keep, self.every = stack, keep, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pavi-retention", daemon=True)

    def __enter__(self) -> Retention:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                forgotten = forget_old_jobs(self.stack, self.keep)
            except Exception:  # never stops the server; the next round tries again
                logger.exception("retention round failed")
                continue
            if forgotten:
                logger.info("forgot %d ended jobs past the newest %d", len(forgotten), self.keep)
