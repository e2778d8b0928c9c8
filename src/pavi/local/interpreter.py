"""Adjustments to moto for the local stack: its Step Functions interpreter's messages and
polling, and its server's cost per request."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INTERPRETER_LOG = "interpreter.log"  # moto's messages, in the stack's log folder


@contextmanager
def interpreter_log(path: Path) -> Iterator[None]:
    """moto's own messages (its interpreter logs each failed state at ERROR) go to ``path``,
    not to the user's terminal, inside the block: a run's summary says what failed
    (issue 23, item 8). ``PAVI_LOCAL_DEBUG`` keeps its debug lines too."""
    moto = logging.getLogger("moto")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = (moto.level, moto.propagate)
    moto.addHandler(handler)
    moto.setLevel(logging.DEBUG if os.environ.get("PAVI_LOCAL_DEBUG") else logging.INFO)
    moto.propagate = False
    try:
        yield
    finally:
        moto.removeHandler(handler)
        handler.close()
        moto.level, moto.propagate = saved


def speed_up_sync_polling(seconds: float) -> None:
    """moto polls a ``.sync`` Batch job every 0.5 s; local jobs take well under a second, so
    a job would spend most of its time waiting for the poll. Poll every ``seconds`` here."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    if hasattr(callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK"):
        callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = seconds  # type: ignore[misc]


def quicker_moto_server() -> None:
    """Two costs of moto's server per request, taken away (idempotent, for the process):

    - it lists moto's package folder (about 180 ``stat`` calls) to route every request: the
      list is made once;
    - it speaks HTTP/1.0, so every request opens and closes a connection: HTTP/1.1 keeps
      them open, as S3 and the other services do.

    Measured with 600 S3 requests through the local stack: 17 ms a request before.
    """
    from moto import backends
    from moto.moto_server import werkzeug_app

    if getattr(backends, "_pavi_listed", None) is None:
        listed = tuple(backends.list_of_moto_modules())
        backends._pavi_listed = listed  # type: ignore[attr-defined]
        backends.list_of_moto_modules = lambda: listed
    werkzeug_app.MotoRequestHandler.protocol_version = "HTTP/1.1"


_CONDITIONAL_WRITES = threading.Lock()


def atomic_conditional_writes() -> None:
    """S3's conditional writes (``If-None-Match: *``, ``If-Match``) are atomic: of two writers of
    one key at once, one gets 412. moto checks, then writes, and its server answers requests on
    threads, so both could win. Each conditional PutObject runs alone here (idempotent, for the
    process); a job ID's claim rests on it (:mod:`pavi.aws.job_requests`)."""
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_pavi_atomic", False):
        return
    put_object = S3Response.put_object

    def conditional_put(self: Any) -> Any:
        if "If-None-Match" in self.headers or "If-Match" in self.headers:
            with _CONDITIONAL_WRITES:
                return put_object(self)
        return put_object(self)

    S3Response.put_object = conditional_put  # type: ignore[method-assign]
    S3Response._pavi_atomic = True  # type: ignore[attr-defined]
