"""A command in a process of its own, measured: its wall time and the peak resident memory of
that process and the processes it waited for (``wait4``'s own account, this child's only)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from typing import Any


def run_measured(command: list[str], what: str, **popen: Any) -> dict[str, float]:
    """``{"seconds", "peak_mib"}`` of ``command``; RuntimeError naming ``what`` and the end of its
    stderr when it fails. Its stderr goes to a file, so that a talkative child never blocks on a pipe."""
    with tempfile.TemporaryFile() as stderr:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, **popen)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            stderr.seek(0)
            raise RuntimeError(f"{what} failed (exit {code}): {stderr.read().decode(errors='replace')[-2000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024}
