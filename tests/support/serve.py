"""``pavi serve`` in its own process for the tests: its address and its API key (the template's
``ApiAuth`` is ``API_KEY``, which the local server enforces as API Gateway does)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAVI = str(Path(sys.executable).with_name("pavi"))


@dataclass(frozen=True)
class Served:
    url: str
    api_key: str
    pid: int
    log: str  # the server's stderr (a file: a pipe nobody reads would stall it)

    def request(
        self, path: str, method: str = "GET", body: Any = None, raw: bytes | None = None,
        headers: dict[str, str] | None = None, key: bool = True, timeout: float = 60,
    ) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", **({"x-api-key": self.api_key} if key else {}), **(headers or {})}
        call = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(call, timeout=timeout) as answer:
                return answer.status, answer.read(), dict(answer.headers.items())
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers.items())


@contextmanager
def pavi_serve(
    env: dict[str, str] | None = None, cwd: Path | None = None, args: tuple[str, ...] = ()
) -> Iterator[Served]:
    log = tempfile.NamedTemporaryFile("w+", prefix="pavi-serve-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [PAVI, "serve", "--port", "0", *args], stderr=log, text=True, env={**os.environ, **(env or {})}, cwd=cwd
    )
    try:
        deadline = time.monotonic() + 60
        match = None
        while match is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            match = re.search(r"http://127\.0\.0\.1:(\d+)/api/ (?:.*x-api-key: (\S+?)\))?", Path(log.name).read_text())
        assert match, Path(log.name).read_text()[-2000:]
        yield Served(f"http://127.0.0.1:{match[1]}", match[2] or "", process.pid, log.name)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
