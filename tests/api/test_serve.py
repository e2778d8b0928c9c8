"""`pavi serve` end to end over real HTTP, as the web UI uses it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PAVI = str(Path(sys.executable).with_name("pavi"))


@pytest.fixture
def server() -> Iterator[str]:
    process = subprocess.Popen([PAVI, "serve", "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/api/", line)
        assert match, line
        yield f"http://127.0.0.1:{match[1]}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def request(url: str, method: str = "GET", body: Any = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(base: str, job: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, data = request(f"{base}/api/pipeline-job/{job}")
        assert status == 200
        state: str = json.loads(data)["status"]
        assert state in {"pending", "running", "completed", "failed"}
        if state in {"completed", "failed"}:
            return state
        time.sleep(0.3)
    raise TimeoutError(job)


def test_pavi_serve_runs_jobs_behind_the_api(
    server: str, genbank_payload: list[dict[str, Any]], conformance: Path
) -> None:
    status, data = request(f"{server}/api/health")
    assert status == 200 and json.loads(data) == {"status": "up"}
    entries = genbank_payload[:8]
    status, data = request(f"{server}/api/pipeline-job/", "POST", entries)
    assert status == 201, data
    job = json.loads(data)["uuid"]
    assert wait_for(server, job) == "completed"
    status, aln = request(f"{server}/api/pipeline-job/{job}/result/alignment")
    assert status == 200 and aln.startswith(b"CLUSTAL O(1.2.4) multiple sequence alignment")
    status, info = request(f"{server}/api/pipeline-job/{job}/result/seq-info")
    assert status == 200 and {e["base_seq_name"] for e in entries} <= set(json.loads(info))
    status, logs = request(f"{server}/api/pipeline-job/{job}/logs")
    assert status == 200 and b"retrieval: 8 entries done" in logs and b"job completed" in logs

    failure = json.loads((conformance / "pavi-upstream" / "api-payload-failure.json").read_text())
    for entry in failure:
        entry["fasta_file_url"] = entries[0]["fasta_file_url"]
    status, data = request(f"{server}/api/pipeline-job/", "POST", failure)
    assert status == 201
    failed = json.loads(data)["uuid"]
    assert wait_for(server, failed) == "failed"
    assert request(f"{server}/api/pipeline-job/{failed}/result/alignment")[0] == 404
    status, logs = request(f"{server}/api/pipeline-job/{failed}/logs")
    assert status == 200 and b"C54H2.5.1" in logs
    assert request(f"{server}/api/pipeline-job/", "POST", [{"nothing": 1}])[0] == 422
