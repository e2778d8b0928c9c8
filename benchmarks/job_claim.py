"""What claiming a job ID costs (issue 27), against the synchronous call it precedes, in one run.

    .venv/bin/python benchmarks/job_claim.py [--rounds 7] [--json]

Through the local stack, ``--rounds`` times each, after one warm-up:

- **call**: the demo job through the API function with ``Prefer: wait=20`` and an
  ``Idempotency-Key`` (the API's claim, the Express workflow, the validation's claim, the job);
- **claim**: the claim's own S3 requests, as the API and the validation make them
  (``pavi.aws.job_requests``): the key's record and the request (conditional ``PutObject``s),
  the execution's claim (a conditional ``PutObject``) and the report's absence (a ``GetObject``).

Medians, and the claim's share of the call. The requests are counted too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


def one_call(stack: Any, entries: list[dict[str, Any]]) -> float:
    from pavi.local.serve import proxy_event

    headers = {"content-type": "application/json", "Prefer": "wait=20", "Idempotency-Key": str(uuid.uuid4())}
    event = proxy_event("POST", "/api/pipeline-job/", json.dumps(entries).encode(), headers)
    started = time.perf_counter()
    answer = stack.invoke("ApiFunction", event)
    took = time.perf_counter() - started
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["status"] == "completed", answer
    return took


def one_claim(entries: list[dict[str, Any]]) -> tuple[float, int]:
    """The claim's requests, in the order the API and the validation make them; (seconds, requests)."""
    from pavi.aws import job_requests
    from pavi.aws.job_store import JobPaths

    store = "s3://pavi-local"
    body = job_requests.canonical_request(entries)
    started = time.perf_counter()
    _, record = job_requests.claim_key(store, "benchmark", str(uuid.uuid4()), job_requests.digest(body))
    paths = JobPaths(store, str(record["job_id"]))
    job_requests.claim_request(paths, body)
    job_requests.claim_execution(paths, f"arn:aws:states:us-east-1:1:express:m:{paths.job_id}:x")
    return time.perf_counter() - started, 4


def main() -> None:
    from support.demo import demo_entries

    from pavi.aws import api
    from pavi.local.stack import EmulatedStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    entries = demo_entries()
    with EmulatedStack(containers=False) as stack:
        import os

        os.environ["STATE_MACHINE_ARN"] = stack.state_machine_arn
        api.reset()
        one_call(stack, entries), one_claim(entries)  # warm-up
        calls, claims = [], []
        for _ in range(args.rounds):  # interleaved: both see the same machine
            calls.append(one_call(stack, entries))
            claims.append(one_claim(entries)[0])
    call, claim = statistics.median(calls), statistics.median(claims)
    figures = {
        "rounds": args.rounds,
        "synchronous_call_s": round(call, 3),
        "claim_s": round(claim, 4),
        "claim_share_of_call": round(claim / call, 4),
        "s3_requests_per_job": 4,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"synchronous call (median of {args.rounds}): {call:.3f} s")
    print(f"the claim's 4 S3 requests:            {claim * 1000:.1f} ms ({claim / call:.1%} of the call)")


if __name__ == "__main__":
    main()
