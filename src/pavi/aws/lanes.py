"""Which lane a job takes, and how the Batch lane shares its entries out among the children
of the retrieval array job.

**The lanes.** A typical job (2 to 20 transcripts) takes the *Lambda lane*: all its entries
retrieved in one Lambda invocation, in parallel. A job past :data:`LAMBDA_LANE_LIMITS` takes
the *Batch lane*. The state machine's ``ChooseLane`` state compares the figures the
validation returns (:func:`lane_figures`) with the same limits, written in the ASL
(``tests/stack/test_lanes.py`` holds the two equal); an execution input's ``"lane"``
(``pavi run --lane``) forces one. A Lambda-lane step that fails or times out falls back to
the Batch lane for that job.

The Batch lane retrieves a job's entries with one AWS Batch *array job*: child ``i`` (its
``AWS_BATCH_JOB_ARRAY_INDEX``) takes the entries ``i*k .. i*k+k-1`` of the manifest's list
and retrieves them in one process. The execution's history and state then stay the same
size whatever the number of entries (a Map of one Batch job per entry used 8 history
events per entry, of the 25,000 a Standard workflow may have), and a Fargate task start
and its one-minute billing minimum are paid once per ``k`` entries, not once per entry.

No AWS imports here: the retrieval image's entrypoint and the validation Lambda share it.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pavi.aws.job_store import share_name
from pavi.domain import storage
from pavi.domain.request import Entry

# AWS Batch: an array job has 2 to 10,000 children (SubmitJob's arrayProperties.size).
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
DEFAULT_ENTRIES_PER_CHILD = 100
ARRAY_INDEX_ENV = "AWS_BATCH_JOB_ARRAY_INDEX"
LANES = ("lambda", "batch")
# Jobs within all three take the Lambda lane (docs/decisions.md §22 gives the measures behind them).
LAMBDA_LANE_LIMITS = {"entries": 25, "longest_protein": 2_000, "total_protein": 15_000}


@dataclass(frozen=True)
class ArrayPlan:
    """How many children the retrieval array job has, and how many entries each takes."""

    entries: int
    children: int
    per_child: int

    def share(self, index: int) -> range:
        """The positions of child ``index``'s entries (:func:`share`)."""
        return share(index, self.per_child, self.entries)

    def state(self) -> dict[str, object]:
        """What the state machine's array job needs: its size (a number) and the entries per
        child (a job parameter, which Batch takes as a string)."""
        return {"children": self.children, "per_child": str(self.per_child)}


def share(index: int, per_child: int, entries: int) -> range:
    """The positions (in the manifest's list of ``entries``) of child ``index``'s entries, as a
    child sees them from its index and the entries per child it was given; empty for a child
    past the last entry (an array has at least 2 children, a job may have 1 entry)."""
    if not 0 <= index < MAX_ARRAY_SIZE:
        raise ValueError(f"array index {index} is outside 0..{MAX_ARRAY_SIZE - 1}")
    per_child = max(1, per_child)
    start = index * per_child
    return range(min(start, entries), min(start + per_child, entries))


def plan_array(entries: int, per_child: int = DEFAULT_ENTRIES_PER_CHILD) -> ArrayPlan:
    """The fewest children of at most ``per_child`` entries (at least 2, as AWS Batch requires
    of an array; at most 10,000, taking more entries each past a million), the entries spread
    evenly among them."""
    if entries < 1:
        raise ValueError("a job has at least one entry")
    per_child = max(1, per_child, math.ceil(entries / MAX_ARRAY_SIZE))
    children = max(MIN_ARRAY_SIZE, math.ceil(entries / per_child))
    return ArrayPlan(entries, children, math.ceil(entries / children))


def entries_per_child_from_env() -> int:
    """``PAVI_ENTRIES_PER_CHILD`` (the template's ``RetrievalEntriesPerChild``), else 100."""
    value = os.environ.get("PAVI_ENTRIES_PER_CHILD", "").strip()
    return int(value) if value else DEFAULT_ENTRIES_PER_CHILD


def array_index_from_env() -> int:
    """This Batch child's index (``AWS_BATCH_JOB_ARRAY_INDEX``); 0 for a job that is not an array's child."""
    value = os.environ.get(ARRAY_INDEX_ENV, "").strip()
    return int(value) if value else 0


@dataclass(frozen=True)
class Manifest:
    """A job's ``manifest.json``: its entry IDs in the request's order, and where the entries are:
    in shares of ``per_share`` entries (``share-{index}.json``, a list each: one a retrieval child,
    so that a child reads one object, and the validation writes one a child)."""

    entry_ids: list[str]
    entries: str  # the prefix of the shares' files
    per_share: int

    def payloads(self, positions: range | None = None) -> list[Any]:
        """The entries at ``positions`` (all by default), their shares read 16 at a time."""
        positions = range(len(self.entry_ids)) if positions is None else positions
        if not positions:
            return []
        first, last = positions.start // self.per_share, (positions.stop - 1) // self.per_share
        locations = [storage.join(self.entries, share_name(index)) for index in range(first, last + 1)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            held = [entry for data in pool.map(storage.read_bytes, locations) for entry in json.loads(data)]
        offset = first * self.per_share
        return held[positions.start - offset : positions.stop - offset]


def read_manifest(location: str) -> Manifest:
    """The manifest at ``location`` (path or ``s3://``); KeyError or ValueError when it is not one."""
    data = json.loads(storage.read_bytes(location))
    return Manifest([str(entry_id) for entry_id in data["entry_ids"]], str(data["entries"]), int(data["per_share"]))


def lane_figures(entries: list[Entry]) -> dict[str, int]:
    """What the lane choice looks at, from the request alone: the entry count, and the longest
    and total expected protein length (residues) of the references and the alternatives
    (:meth:`Entry.expected_residues`: the CDS lengths, or the exons' when an entry gives no
    CDS, plus the bases its inline variants insert)."""
    longest = total = 0
    for entry in entries:
        expected = entry.expected_residues()
        longest = max(longest, *expected)
        total += sum(expected)
    return {"entries": len(entries), "longest_protein": longest, "total_protein": total}


def lambda_lane_fits(figures: dict[str, int]) -> bool:
    """What the ``ChooseLane`` state decides when no lane is asked for."""
    return all(figures[name] <= limit for name, limit in LAMBDA_LANE_LIMITS.items())


# Why a Lambda-lane step fell back (issue 23, item 4): the caught error's name -> a reason, the
# dimension of the LambdaLaneFallbacks metric. AccessDenied and FunctionNotFound are not a job's
# trouble but the deployment's: every job falls back until an operator fixes it.
_REASONS = (
    ("AccessDenied", "AccessDenied"),
    ("ResourceNotFound", "FunctionNotFound"),
    ("ResourceNotReady", "FunctionNotReady"),
    ("TooManyRequests", "Throttled"),
    ("Timeout", "Timeout"),
    ("Timedout", "Timeout"),
)
CONFIGURATION_REASONS = frozenset({"AccessDenied", "FunctionNotFound"})


def fallback_reason(error_name: str) -> str:
    """The reason of a fallback from the caught error's name (``Lambda.AccessDeniedException``...)."""
    return next((reason for marker, reason in _REASONS if marker in error_name), "FunctionError")


def configuration_error(step: str, reason: str) -> str | None:
    """What a report and the log say when a fallback is the deployment's fault, else None."""
    if reason not in CONFIGURATION_REASONS:
        return None
    what = "is not allowed to call" if reason == "AccessDenied" else "cannot find"
    return (
        f"configuration error: the state machine {what} the Lambda lane's {step} function ({reason}); "
        "every job falls back to the Batch lane, slower and dearer, until the deployment is fixed"
    )
