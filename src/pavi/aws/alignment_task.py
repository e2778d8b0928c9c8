"""A job's aligner and its alignment task, from the request alone (issue 29): used by the validation
step (the state names them; the Batch alignment job gets the task as its container overrides) and
by the API, which answers 413 for a job no alignment task of this deployment can hold.

The deployment's bounds come from the template: ``PAVI_ALIGNMENT_VCPU`` and
``PAVI_ALIGNMENT_MEMORY`` (``AlignmentVcpu``, ``AlignmentMemory``: the floor) and
``PAVI_ALIGNMENT_MAX_MEMORY`` (``AlignmentMaxMemory``: the ceiling), and the wall-time target that
chooses the vCPUs, ``PAVI_ALIGNMENT_TARGET_SECONDS`` (``AlignmentTargetSeconds``).
"""

from __future__ import annotations

import os
from typing import Any

from pavi.domain.aligners import choose
from pavi.domain.alignment_model import TARGET_SECONDS, size
from pavi.domain.errors import JobSizeError, Problem
from pavi.domain.request import Job, expected_sequences

FLOOR = (1.0, 4096)  # the template's defaults
CEILING_MIB = 30720


def bounds() -> tuple[tuple[float, int], int]:
    """The deployment's floor (vCPUs, MiB) and ceiling (MiB) for the alignment task."""
    vcpu = float(os.environ.get("PAVI_ALIGNMENT_VCPU") or FLOOR[0])
    memory = int(os.environ.get("PAVI_ALIGNMENT_MEMORY") or FLOOR[1])
    return (vcpu, memory), int(os.environ.get("PAVI_ALIGNMENT_MAX_MEMORY") or CEILING_MIB)


def target_seconds() -> float:
    """The deployment's wall-time target for an alignment."""
    return float(os.environ.get("PAVI_ALIGNMENT_TARGET_SECONDS") or TARGET_SECONDS)


def plan_alignment(job: Job, requested: str | None, longest: int) -> dict[str, Any]:
    """``{"aligner", "aligner_reason", "alignment_resources"}`` for a job, or :class:`JobSizeError`
    with the figure when no alignment task of this deployment holds it. A job that names no
    aligner and that Clustal Omega could not align within the ceiling goes to FAMSA."""
    return plan(expected_sequences(job), longest, requested)


def plan(sequences: int, longest: int, requested: str | None = None) -> dict[str, Any]:
    """:func:`plan_alignment` for ``sequences`` proteins whose longest has ``longest`` residues."""
    floor, ceiling = bounds()
    aligner, reason = choose(requested, sequences)
    target = target_seconds()
    task = size(aligner, sequences, longest, floor, ceiling, target)
    if "refused" in task and requested is None and aligner == "clustalo":
        famsa = size("famsa", sequences, longest, floor, ceiling, target)
        if "refused" not in famsa:
            reason = f"Clustal Omega would need about {task['modelled_mib']:,} MiB, past the ceiling: FAMSA"
            aligner, task = "famsa", famsa
    if "refused" in task:
        raise JobSizeError([Problem(None, "", str(task["refused"]))])
    return {"aligner": aligner, "aligner_reason": reason, "alignment_resources": task}
