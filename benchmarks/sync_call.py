"""The synchronous call against the poll (issue 22), in one run on this machine.

    .venv/bin/python benchmarks/sync_call.py [--rounds 5] [--poll 1.0] [--json]

The demo job (2 entries, 3 proteins) through the local stack, ``--rounds`` times each way,
after one warm-up of each:

- **sync**: ``StartSyncExecution`` on the Express workflow; the time until the answer.
- **poll**: ``StartExecution`` on the Standard workflow, then ``DescribeExecution`` every
  ``--poll`` seconds (the web UI polls every second) until it is no longer running; the
  time until the client knows.

For each, the state machine's own overhead is the job's time minus the time the steps'
handlers ran (``EmulatedStack.work_intervals``). Medians are reported, and their ratios.
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


def busy(stack: Any, since: float, until: float) -> float:
    """Seconds within [since, until] during which some step's handler was running."""
    spans = sorted((max(a, since), min(b, until)) for a, b in stack.work_intervals() if b > since and a < until)
    total, end = 0.0, since
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def one_sync(stack: Any, payload: dict[str, Any]) -> tuple[float, float]:
    started = time.time()
    answer = stack.sfn.start_sync_execution(
        stateMachineArn=stack.express_state_machine_arn, name=str(uuid.uuid4()), input=json.dumps(payload)
    )
    ended = time.time()
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"])["status"] == "completed", answer
    return ended - started, ended - started - busy(stack, started, ended)


def one_poll(stack: Any, payload: dict[str, Any], poll: float) -> tuple[float, float]:
    started = time.time()
    _, arn = stack.start(payload)
    while True:
        time.sleep(poll)
        description = stack.sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            break
    known = time.time()
    assert description["status"] == "SUCCEEDED", description
    stopped = description["stopDate"].timestamp()
    return known - started, stopped - started - busy(stack, started, stopped)


def main() -> None:
    from support.demo import demo_entries

    from pavi.local.stack import EmulatedStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    payload = {"seq_regions": demo_entries()}
    with EmulatedStack(containers=False) as stack:
        one_sync(stack, payload), one_poll(stack, payload, args.poll)  # warm-up
        sync = [one_sync(stack, payload) for _ in range(args.rounds)]
        poll = [one_poll(stack, payload, args.poll) for _ in range(args.rounds)]
    figures = {
        "sync_answer_s": statistics.median(s for s, _ in sync),
        "poll_answer_s": statistics.median(p for p, _ in poll),
        "sync_overhead_s": statistics.median(o for _, o in sync),
        "standard_overhead_s": statistics.median(o for _, o in poll),
    }
    figures["answer_ratio_poll_over_sync"] = figures["poll_answer_s"] / figures["sync_answer_s"]
    figures["overhead_ratio_standard_over_express"] = figures["standard_overhead_s"] / max(
        figures["sync_overhead_s"], 1e-3
    )
    if args.json:
        print(json.dumps({"rounds": args.rounds, "poll_s": args.poll, **figures}, indent=1))
        return
    print(f"demo job, {args.rounds} rounds each, medians; polling every {args.poll} s")
    print(f"  answer:   sync {figures['sync_answer_s']:.2f} s, start + poll {figures['poll_answer_s']:.2f} s "
          f"({figures['answer_ratio_poll_over_sync']:.2f}x)")  # fmt: skip
    print(f"  overhead: Express {figures['sync_overhead_s']:.2f} s, Standard {figures['standard_overhead_s']:.2f} s "
          f"({figures['overhead_ratio_standard_over_express']:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
