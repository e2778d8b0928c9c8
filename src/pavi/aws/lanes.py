"""How a job's entries are shared out among the children of the retrieval array job.

The Batch lane retrieves a job's entries with one AWS Batch *array job*: child ``i`` (its
``AWS_BATCH_JOB_ARRAY_INDEX``) takes the entries ``i*k .. i*k+k-1`` of the manifest's list
and retrieves them in one process. The execution's history and state then stay the same
size whatever the number of entries (a Map of one Batch job per entry used 8 history
events per entry, of the 25,000 a Standard workflow may have), and a Fargate task start
and its one-minute billing minimum are paid once per ``k`` entries, not once per entry.

No AWS imports here: the retrieval image's entrypoint and the validation Lambda share it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

# AWS Batch: an array job has 2 to 10,000 children (SubmitJob's arrayProperties.size).
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
DEFAULT_ENTRIES_PER_CHILD = 100
ARRAY_INDEX_ENV = "AWS_BATCH_JOB_ARRAY_INDEX"


@dataclass(frozen=True)
class ArrayPlan:
    """How many children the retrieval array job has, and how many entries each takes."""

    entries: int
    children: int
    per_child: int

    @classmethod
    def of(cls, entries: int, per_child: int) -> ArrayPlan:
        """The plan a child sees: the manifest's entry count and the entries per child it was given."""
        return cls(entries, max(MIN_ARRAY_SIZE, math.ceil(entries / max(1, per_child))), max(1, per_child))

    def share(self, index: int) -> range:
        """The positions (in the manifest's list) of child ``index``'s entries; empty for a
        child past the last entry (an array has at least 2 children, a job may have 1 entry)."""
        if not 0 <= index < MAX_ARRAY_SIZE:
            raise ValueError(f"array index {index} is outside 0..{MAX_ARRAY_SIZE - 1}")
        start = index * self.per_child
        return range(min(start, self.entries), min(start + self.per_child, self.entries))

    def state(self) -> dict[str, object]:
        """What the state machine's array job needs: its size (a number) and the entries per
        child (a job parameter, which Batch takes as a string)."""
        return {"children": self.children, "per_child": str(self.per_child)}


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
