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

The model is each measurement's upper line, with :data:`HEADROOM` on memory. Times are for
families of related proteins (PAVI's jobs: one gene's orthologs, isoforms and variants); Clustal
Omega took up to 60 times longer on unrelated ones. The task is a Fargate vCPU/memory pair that
holds the memory, at least the template's floor (``AlignmentVcpu``, ``AlignmentMemory``) and at
most its ceiling (``AlignmentMaxMemory``): a job past the ceiling is refused before it runs, with
the figure. Of the pairs that hold it, the cheapest that aligns within the wall-time target
(``AlignmentTargetSeconds``) is chosen, else the fastest (:func:`choose_task`): threads divide
only part of each aligner's time (:data:`PARALLEL_FRACTION`). The aligner runs as many threads as
the task has whole vCPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

CLUSTALO_BYTES_PER_CELL = 55  # of the longest protein's square
FAMSA_BYTES_PER_CELL = 2.3
FAMSA_BYTES_PER_RESIDUE = 20_000  # its near-identical floor: 175 MiB at 8,000 residues
FAMSA_BYTES_PER_SEQUENCE_RESIDUE = 30  # and the sequences it holds: 74 MiB for 2,000 x 370, 102 for 5,000
PROCESS_MIB = 64  # the interpreter and the aligner's own code
# Time on one thread (seconds): a term for each pair of profiles aligned (the longest square times
# the sequences) and one for the sequences' pairs (their count squared times the longest)
CLUSTALO_SECONDS_PER_CELL = 1.0e-7  # families: 11.6 s for 3 x 8,000, 15.1 s for 10 x 4,000
CLUSTALO_SECONDS_PER_PAIR_RESIDUE = 2.05e-7  # 677 s for 10,000 x 33 (docs/benchmarks.md)
FAMSA_START_SECONDS = 0.8
FAMSA_SECONDS_PER_CELL = 3.75e-8  # ten divergent titins: 455 s
FAMSA_SECONDS_PER_PAIR_RESIDUE = 4e-10  # 19.1 s for 5,000 x 370
# The share of the one-thread time that threads divide (Amdahl's law), from the best speed-up
# measured on 2 threads (``benchmarks/aligners.py --threads 1,2``): Clustal Omega 1.2x (only its
# distances run in threads), FAMSA 1.43x on 5,000 sequences
PARALLEL_FRACTION = {"clustalo": 0.33, "famsa": 0.6}
HEADROOM = 1.5
MIB = 1024 * 1024
TARGET_SECONDS = 900  # the template's AlignmentTargetSeconds: the wall time worth paying more vCPUs for
# Fargate's price of a vCPU-hour and a GB-hour (on-demand, us-east-1; Spot keeps the same ratio):
# only their ratio chooses the task
FARGATE_PRICE = {"vcpu_hour": 0.04048, "gb_hour": 0.004445}
FARGATE_MINIMUM_SECONDS = 60

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
    cells, pairs = longest * longest, sequences * sequences
    if aligner == "famsa":
        memory = max(FAMSA_BYTES_PER_CELL * cells, FAMSA_BYTES_PER_RESIDUE * longest)
        memory += FAMSA_BYTES_PER_SEQUENCE_RESIDUE * sequences * longest
        seconds = (
            FAMSA_START_SECONDS
            + FAMSA_SECONDS_PER_CELL * cells * sequences
            + FAMSA_SECONDS_PER_PAIR_RESIDUE * pairs * longest
        )
        return Needs(int(memory / MIB) + PROCESS_MIB, round(seconds, 1))
    seconds = (
        CLUSTALO_SECONDS_PER_CELL * cells * max(sequences - 1, 1) + CLUSTALO_SECONDS_PER_PAIR_RESIDUE * pairs * longest
    )
    return Needs(int(CLUSTALO_BYTES_PER_CELL * cells / MIB) + PROCESS_MIB, round(seconds, 1))


def wall_seconds(aligner: str, seconds: float, vcpus: float) -> float:
    """The modelled wall time of an alignment of ``seconds`` on one thread, given ``vcpus``: its
    parallel share divided among the threads (one a vCPU), a fraction of a vCPU slowing it all."""
    share = PARALLEL_FRACTION[aligner]
    threads = max(1.0, vcpus)
    return seconds * ((1 - share) + share / threads) / min(1.0, vcpus)


def task_usd(vcpus: float, memory_mib: int, seconds: float) -> float:
    """A Fargate task's on-demand price for ``seconds`` (at least Fargate's minute)."""
    hourly = vcpus * FARGATE_PRICE["vcpu_hour"] + memory_mib / 1024 * FARGATE_PRICE["gb_hour"]
    return hourly * max(FARGATE_MINIMUM_SECONDS, seconds) / 3600


def fargate_tasks(memory_mib: int, floor_vcpu: float, floor_mib: int) -> list[tuple[float, int]]:
    """Every Fargate size, the smallest pair (vCPUs, MiB) of each, that holds ``memory_mib`` (with
    :data:`HEADROOM`), ``floor_vcpu`` and ``floor_mib``."""
    wanted = max(int(memory_mib * HEADROOM), floor_mib)
    return [
        (vcpus, max(least, -(-wanted // step) * step))
        for vcpus, least, most, step in FARGATE
        if vcpus >= floor_vcpu and most >= wanted
    ]


def choose_task(
    aligner: str, modelled: Needs, floor: tuple[float, int], ceiling_mib: int, target_seconds: float
) -> tuple[float, int, float, str] | None:
    """The task (vCPUs, MiB), its modelled wall time and why: the cheapest that aligns within
    ``target_seconds``, else the fastest (the cheapest of those). On Fargate a vCPU-second costs the
    same in any task, so more vCPUs pay only when they shorten the wall time enough (or when the
    memory needs them). None when no task within ``ceiling_mib`` holds the job."""
    sized = [
        (vcpus, memory, wall_seconds(aligner, modelled.seconds, vcpus))
        for vcpus, memory in fargate_tasks(modelled.memory_mib, *floor)
        if memory <= ceiling_mib
    ]
    if not sized:
        return None
    within = [task for task in sized if task[2] <= target_seconds]
    if within:
        vcpus, memory, wall = min(within, key=lambda task: (task_usd(*task), task[0]))
        why = f"the cheapest task that aligns within the {target_seconds:g}-s target"
    else:
        fastest = min(round(task[2], 1) for task in sized)
        vcpus, memory, wall = min(
            (task for task in sized if round(task[2], 1) == fastest), key=lambda task: task_usd(*task)
        )
        why = f"no task aligns within the {target_seconds:g}-s target: the fastest"
    return vcpus, memory, wall, why


def fargate_task(memory_mib: int, floor_vcpu: float, floor_mib: int) -> tuple[float, int] | None:
    """The smallest Fargate pair (vCPUs, MiB) with at least ``memory_mib`` (with :data:`HEADROOM`),
    ``floor_vcpu`` and ``floor_mib``; None when no Fargate task is that large."""
    tasks = fargate_tasks(memory_mib, floor_vcpu, floor_mib)
    return tasks[0] if tasks else None


def size(
    aligner: str,
    sequences: int,
    longest: int,
    floor: tuple[float, int],
    ceiling_mib: int,
    target_seconds: float = TARGET_SECONDS,
) -> dict[str, object]:
    """The alignment task of a job, as the state machine passes it to Batch (``vcpus`` and
    ``memory`` as strings, as ``ResourceRequirements`` takes them; ``threads`` for the aligner),
    and the model's figures; ``refused`` says why when the job needs more than ``ceiling_mib``."""
    modelled = needs(aligner, sequences, longest)
    task = choose_task(aligner, modelled, floor, ceiling_mib, target_seconds)
    sized: dict[str, object] = {"modelled_mib": modelled.memory_mib, "modelled_seconds": modelled.seconds}
    if task is None:
        sized["refused"] = (
            f"aligning {sequences:,} sequences of up to {longest:,} residues with {aligner} needs about "
            f"{modelled.memory_mib:,} MiB ({HEADROOM}x headroom: {int(modelled.memory_mib * HEADROOM):,}); "
            f"this deployment's alignment task is at most {ceiling_mib:,} MiB (AlignmentMaxMemory)"
        )
        return sized
    vcpus, memory, wall, why = task
    return {
        **sized,
        "vcpus": f"{vcpus:g}",
        "memory": str(memory),
        "threads": str(max(1, int(vcpus))),
        "modelled_wall_seconds": round(wall, 1),
        "modelled_usd": round(task_usd(vcpus, memory, wall), 5),
        "chosen_because": why,
    }
