"""What a job's alignment needs, by aligner, and the Fargate task that gives it (issue 29, item 1).

Measured on this project's machine, one thread, families of near-identical proteins
(``.venv/bin/python benchmarks/aligners.py``; the table in ``docs/benchmarks.md``):

- **Clustal Omega**'s memory grows with the square of the longest protein and not with the number
  of sequences: 214 MiB at 2,000 residues, 834 at 4,000, 3,191 at 8,000 (about 53 bytes a cell of
  the longest protein's square), the same 835 MiB for 3 or 10 sequences of 4,000. Its time grows with
  that square times the sequences: 0.9 s, 3.1 s, 11.6 s for 3 sequences; 15.1 s for 10 of 4,000.
- **FAMSA** stays small on near-identical proteins (56, 94, 175 MiB at 2,000, 4,000, 8,000) and grows
  with the square on divergent ones: ten 35,000-residue titins took 2.7 GB (issue 29's measurement),
  about 2.3 bytes a cell. It was 2.0 to 8.6 times faster on the same inputs (its start included).

The model is each measurement's upper line, with :data:`HEADROOM`; the task is the smallest
Fargate vCPU/memory pair that holds it, at least the template's floor (``AlignmentVcpu``,
``AlignmentMemory``) and at most its ceiling (``AlignmentMaxMemory``): a job past the ceiling is
refused before it runs, with the figure. The aligner runs as many threads as the task has vCPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

CLUSTALO_BYTES_PER_CELL = 55  # of the longest protein's square
FAMSA_BYTES_PER_CELL = 2.3
FAMSA_BYTES_PER_RESIDUE = 20_000  # its near-identical floor: 175 MiB at 8,000 residues
PROCESS_MIB = 64  # the interpreter and the aligner's own code
CLUSTALO_SECONDS_PER_CELL = 1.0e-7  # times the longest square and the sequences less one
FAMSA_SPEEDUP = 2.4  # the least FAMSA was faster by, measured
HEADROOM = 1.5
MIB = 1024 * 1024

# Fargate's vCPU/memory pairs (AWS Batch's ResourceRequirements): vCPUs -> (least MiB, most MiB, step)
FARGATE = ((0.25, 512, 2048, 512), (0.5, 1024, 4096, 1024), (1, 2048, 8192, 1024), (2, 4096, 16384, 1024),
           (4, 8192, 30720, 1024), (8, 16384, 61440, 4096), (16, 32768, 122880, 8192))  # fmt: skip


@dataclass(frozen=True)
class Needs:
    """What one alignment needs: MiB at its peak and seconds on one vCPU."""

    memory_mib: int
    seconds: float


def needs(aligner: str, sequences: int, longest: int) -> Needs:
    """The modelled peak memory and time of aligning ``sequences`` proteins whose longest has
    ``longest`` residues."""
    cells = longest * longest
    clustalo_seconds = CLUSTALO_SECONDS_PER_CELL * cells * max(sequences - 1, 1)
    if aligner == "famsa":
        memory = max(FAMSA_BYTES_PER_CELL * cells, FAMSA_BYTES_PER_RESIDUE * longest)
        return Needs(int(memory / MIB) + PROCESS_MIB, round(clustalo_seconds / FAMSA_SPEEDUP, 1))
    return Needs(int(CLUSTALO_BYTES_PER_CELL * cells / MIB) + PROCESS_MIB, round(clustalo_seconds, 1))


def fargate_task(memory_mib: int, floor_vcpu: float, floor_mib: int) -> tuple[float, int] | None:
    """The smallest Fargate pair (vCPUs, MiB) with at least ``memory_mib`` (with :data:`HEADROOM`),
    ``floor_vcpu`` and ``floor_mib``; None when no Fargate task is that large."""
    wanted = max(int(memory_mib * HEADROOM), floor_mib)
    for vcpus, least, most, step in FARGATE:
        if vcpus < floor_vcpu or most < wanted:
            continue
        memory = max(least, -(-wanted // step) * step)
        return vcpus, memory
    return None


def size(aligner: str, sequences: int, longest: int, floor: tuple[float, int], ceiling_mib: int) -> dict[str, object]:
    """The alignment task of a job, as the state machine passes it to Batch (``vcpus`` and
    ``memory`` as strings, as ``ResourceRequirements`` takes them), and the model's figures;
    ``refused`` says why when the job needs more than ``ceiling_mib``."""
    modelled = needs(aligner, sequences, longest)
    task = fargate_task(modelled.memory_mib, *floor)
    sized: dict[str, object] = {"modelled_mib": modelled.memory_mib, "modelled_seconds": modelled.seconds}
    if task is None or task[1] > ceiling_mib:
        sized["refused"] = (
            f"aligning {sequences:,} sequences of up to {longest:,} residues with {aligner} needs about "
            f"{modelled.memory_mib:,} MiB ({HEADROOM}x headroom: {int(modelled.memory_mib * HEADROOM):,}); "
            f"this deployment's alignment task is at most {ceiling_mib:,} MiB (AlignmentMaxMemory)"
        )
        return sized
    vcpus, memory = task
    return {**sized, "vcpus": f"{vcpus:g}", "memory": str(memory)}
