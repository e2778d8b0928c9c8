"""`pavi serve` under load: job creation and status with concurrent clients, and the server's
memory per job kept (issue 14).

    .venv/bin/python benchmarks/serve_load.py [--clients 32] [--jobs 128] [--json]

One ``pavi serve`` process (its Batch jobs in-process: what is measured is the API's side),
then, with ``--clients`` threads:

1. ``--jobs`` single-entry demo jobs created (POST), each client in turn; the latency of each
   POST and the creation rate;
2. every job waited for;
3. ``--clients`` threads GET the status of random jobs for ``--seconds``: latency and rate;
4. the server's resident memory (VmRSS of its process, which holds the local S3 and the
   state machine) before the jobs, after the first round, and after a second round of as
   many jobs: the growth per job of each round. The server keeps its newest ``--keep`` ended
   jobs (``PAVI_LOCAL_KEEP_JOBS``): it grows in the first round (warm-up, the jobs kept) and
   hardly in the second, whose jobs replace older ones.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.demo import demo_entries  # noqa: E402
from support.serve import Served, pavi_serve  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def create(served: Served, clients: int, jobs: int) -> tuple[list[str], list[float], float]:
    entries = demo_entries()[:1]
    latencies: list[float] = []
    lock = threading.Lock()

    def one(_: int) -> str:
        started = time.perf_counter()
        status, data, _ = served.request("/api/pipeline-job/", "POST", entries, timeout=120)
        with lock:
            latencies.append(time.perf_counter() - started)
        if status != 201:
            raise RuntimeError(f"POST answered {status}: {data[:200]!r}")
        return str(json.loads(data)["uuid"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(one, range(jobs)))
    return ids, latencies, time.perf_counter() - started


def wait_all(served: Served, ids: list[str], timeout: float = 900) -> None:
    pending = sorted(ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        status, data, _ = served.request(f"/api/pipeline-job/{pending[0]}")
        state = json.loads(data)["status"] if status == 200 else f"HTTP {status}"
        if state in {"completed", "failed", "HTTP 404"}:  # 404: ended, and past the jobs kept
            pending.pop(0)
        elif state != "running":
            raise RuntimeError(f"job {pending[0]}: {state}")
        else:
            time.sleep(0.5)
    if pending:
        raise TimeoutError(f"{len(pending)} jobs still running")


def statuses(served: Served, ids: list[str], clients: int, seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            started = time.perf_counter()
            status, _, _ = served.request(f"/api/pipeline-job/{rng.choice(ids)}")
            if status != 200:
                raise RuntimeError(f"GET answered {status}")
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return latencies, time.perf_counter() - started


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", type=int, default=100, help="ended jobs the server keeps (PAVI_LOCAL_KEEP_JOBS)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {"PAVI_LOCAL_BATCH": "in-process", "PAVI_LOCAL_KEEP_JOBS": str(args.keep)}
    with pavi_serve(env) as served:
        served.request("/api/health")
        before = rss_mb(served.pid)
        ids, created, elapsed = create(served, args.clients, args.jobs)
        wait_all(served, ids)
        first = rss_mb(served.pid)
        got, status_elapsed = statuses(served, ids[-min(args.keep, len(ids)) // 2 :], args.clients, args.seconds)
        more, _, _ = create(served, args.clients, args.jobs)
        wait_all(served, more)
        second = rss_mb(served.pid)
    result: dict[str, Any] = {
        "clients": args.clients,
        "jobs_per_round": args.jobs,
        "jobs_kept": args.keep,
        "create": summary(created, elapsed),
        "status": summary(got, status_elapsed),
        "rss_mb": {"start": round(before, 1), "after_round_1": round(first, 1), "after_round_2": round(second, 1)},
        "mb_per_job": {
            "round_1": round((first - before) / args.jobs, 3),
            "round_2": round((second - first) / args.jobs, 3),
        },
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{args.clients} clients, {args.jobs} jobs a round")
        for kind in ("create", "status"):
            r = result[kind]
            rate = f"{r['requests']:5} requests  {r['per_second']:6} /s"
            print(f"  {kind:7} {rate}  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms")
        print(f"  memory  {result['rss_mb']} MB; per job: {result['mb_per_job']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
