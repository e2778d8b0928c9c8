"""Issue 29, items 1 and 3: the measured model of an alignment's needs, the Fargate task it gives
each job, titin-length proteins, and the refusal of a job no task holds."""

from __future__ import annotations

from typing import Any

import pytest

from pavi.aws.alignment_task import plan_alignment
from pavi.domain.alignment_model import FARGATE, choose_task, fargate_task, needs, size, task_usd, wall_seconds
from pavi.domain.errors import JobSizeError
from pavi.domain.request import parse_job

# (aligner, sequences, longest residues, measured MiB, measured seconds): docs/benchmarks.md
MEASURED = [
    ("clustalo", 3, 2000, 214, 0.92),
    ("clustalo", 3, 4000, 834, 3.07),
    ("clustalo", 3, 8000, 3191, 11.64),
    ("clustalo", 10, 4000, 835, 15.13),
    ("clustalo", 10_000, 33, 0, 677.0),  # the 10,000-entry job (time only)
    ("famsa", 3, 8000, 175, 1.69),
    ("famsa", 200, 400, 61, 0.82),
    ("famsa", 2000, 370, 74, 4.84),
    ("famsa", 5000, 370, 102, 19.12),
    ("famsa", 7, 35_000, 2456, 82.9),  # seven near-identical titins
    ("famsa", 10, 35_000, 2700, 455.0),  # issue 29's: ten divergent titins
]


@pytest.mark.parametrize(("aligner", "sequences", "longest", "mib", "seconds"), MEASURED)
def test_the_model_covers_every_measurement(
    aligner: str, sequences: int, longest: int, mib: int, seconds: float
) -> None:
    modelled = needs(aligner, sequences, longest)
    assert mib <= modelled.memory_mib <= 1.6 * mib + 100 or mib == 0, modelled  # above it, not wildly
    if aligner == "clustalo":
        assert 0.5 * seconds <= modelled.seconds <= 2 * seconds, modelled
    else:  # the upper line: the divergent titins' rate on near-identical families too
        assert seconds <= modelled.seconds <= 5 * seconds, modelled


def test_threads_divide_only_the_measured_share() -> None:
    """Amdahl's law with the measured parallel fractions: 2 threads give Clustal Omega 1.2x and
    FAMSA 1.43x (benchmarks/aligners.py --threads 1,2), half a vCPU doubles the time."""
    assert wall_seconds("clustalo", 100, 2) == pytest.approx(100 / 1.2, rel=0.01)
    assert wall_seconds("famsa", 100, 2) == pytest.approx(100 / 1.43, rel=0.01)
    assert wall_seconds("famsa", 100, 0.5) == 200
    assert wall_seconds("famsa", 100, 16) > 100 * 0.4  # never below the serial share


def test_vcpus_are_chosen_by_cost_and_the_wall_time_target() -> None:
    """A short job keeps one vCPU (Fargate bills a minute at least: more vCPUs only cost more);
    a long one gets the cheapest task within the target; past it, the fastest; the memory can
    need more vCPUs than the time does. Checked against every task's price computed here."""
    small = needs("famsa", 200, 400)
    assert choose_task("famsa", small, (1.0, 4096), 30720, 900)[:2] == (1, 4096)
    long = needs("famsa", 20_000, 1000)  # about 2,000 s on one thread
    vcpus, memory, wall, why = choose_task("famsa", long, (1.0, 4096), 61440, 900)
    assert wall <= 900 and "cheapest" in why
    for other in (1, 2, 4, 8):  # every task within the target costs at least as much
        other_memory = max(memory, {1: 2048, 2: 4096, 4: 8192, 8: 16384}[other])
        other_wall = wall_seconds("famsa", long.seconds, other)
        if other_wall <= 900:
            assert task_usd(other, other_memory, other_wall) >= task_usd(vcpus, memory, wall) - 1e-9
    hopeless = needs("clustalo", 10_000, 370)  # Clustal Omega's serial share never meets 900 s
    vcpus, memory, wall, why = choose_task("clustalo", hopeless, (1.0, 4096), 30720, 900)
    assert wall > 900 and "fastest" in why and vcpus == 8  # 16 vCPUs need 32 GiB, past this ceiling
    titin = needs("clustalo", 7, 36_000)
    assert choose_task("clustalo", titin, (1.0, 4096), 122_880, 99_999)[0] == 16  # 100 GiB: 16 vCPUs' memory


def test_every_task_is_a_pair_fargate_accepts() -> None:
    valid = {(v, m) for v, least, most, step in FARGATE for m in range(least, most + 1, step)}
    for memory in (1, 500, 2000, 4096, 6000, 20_000, 60_000, 81_920):
        task = fargate_task(memory, 1.0, 4096)
        assert task is not None and task in valid, (memory, task)
        assert task[1] >= memory * 1.5 and task[0] >= 1 and task[1] >= 4096
    assert fargate_task(90_000, 1.0, 4096) is None  # 135,000 MiB with headroom: past Fargate's largest


def test_a_small_job_keeps_the_floor() -> None:
    assert size("clustalo", 4, 400, (1.0, 4096), 30720) | {"modelled_mib": 0, "modelled_seconds": 0} == {
        "modelled_mib": 0,
        "modelled_seconds": 0,
        "vcpus": "1",
        "memory": "4096",
        "threads": "1",
        "modelled_wall_seconds": 0.0,
        "modelled_usd": round(task_usd(1, 4096, 60), 5),  # Fargate's minute
        "chosen_because": "the cheapest task that aligns within the 900-s target",
    }


def titin_entry(index: int, residues: int) -> dict[str, Any]:
    bases = 3 * residues + 3
    return {
        "unique_entry_id": f"ttn{index}",
        "base_seq_name": f"TTN_{index}",
        "seq_id": "chr2",
        "exon_seq_regions": [{"start": 1, "end": bases}],
        "cds_seq_regions": [{"start": 1, "end": bases, "frame": 0}],
        "fasta_file_url": "https://example.org/genome.fa.gz",
    }


def test_titins_are_aligned_by_famsa_in_a_task_sized_for_them() -> None:
    """Human TTN (34,350 residues) and mouse Ttn (35,213) with 5 orthologs' titins: past the old
    8,000-residue bound; Clustal Omega would need about 64 GiB, past the default ceiling (30 GiB),
    so FAMSA aligns them, in a task the model sizes."""
    job = parse_job([titin_entry(i, n) for i, n in enumerate([34_350, 35_213, 33_423, 34_942, 35_991, 34_000, 33_000])])
    planned = plan_alignment(job, None, 35_991)
    assert planned["aligner"] == "famsa" and "Clustal Omega would need about" in planned["aligner_reason"]
    task = planned["alignment_resources"]
    assert int(task["memory"]) >= 1.5 * task["modelled_mib"] and task["vcpus"] in {"1", "2", "4"}
    with pytest.raises(JobSizeError, match=r"with clustalo needs about [\d,]+ MiB .* at most 30,720 MiB") as refused:
        plan_alignment(job, "clustalo", 35_991)  # named: Clustal Omega it is, or nothing
    assert refused.value.problems[0].field == ""


def test_the_lambda_lanes_alignment_function_holds_the_lanes_worst_case() -> None:
    """Issue 29, item 3: the Lambda lane keeps its bounds, and its alignment function's memory (so
    its vCPUs) holds the model's worst case within them, with the task's headroom, either aligner."""
    from support.project import REPO

    from pavi.aws.lanes import LAMBDA_LANE_LIMITS
    from pavi.domain.alignment_model import HEADROOM
    from pavi.local.template import load_template

    function = load_template(REPO / "template.yaml")["Resources"]["AlignFunction"]["Properties"]
    worst = max(
        needs(aligner, 2 * LAMBDA_LANE_LIMITS["entries"], LAMBDA_LANE_LIMITS["longest_protein"]).memory_mib
        for aligner in ("clustalo", "famsa")
    )
    assert int(function["MemorySize"]) >= worst * HEADROOM, (function["MemorySize"], worst)
    assert int(function["MemorySize"]) >= 1769  # one full vCPU for the aligner's one thread
