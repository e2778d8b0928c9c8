"""Issue 29, items 1 and 3: the measured model of an alignment's needs, the Fargate task it gives
each job, titin-length proteins, and the refusal of a job no task holds."""

from __future__ import annotations

from typing import Any

import pytest

from pavi.aws.alignment_task import plan_alignment
from pavi.domain.alignment_model import FARGATE, fargate_task, needs, size
from pavi.domain.errors import JobSizeError
from pavi.domain.request import parse_job

# (aligner, sequences, longest residues, measured MiB, measured seconds): docs/benchmarks.md
MEASURED = [
    ("clustalo", 3, 2000, 214, 0.92),
    ("clustalo", 3, 4000, 834, 3.07),
    ("clustalo", 3, 8000, 3191, 11.64),
    ("clustalo", 10, 4000, 835, 15.13),
    ("famsa", 3, 8000, 175, 1.69),
    ("famsa", 10, 35_000, 2700, 455.0),  # issue 29's: ten divergent titins
]


@pytest.mark.parametrize(("aligner", "sequences", "longest", "mib", "seconds"), MEASURED)
def test_the_model_covers_every_measurement(
    aligner: str, sequences: int, longest: int, mib: int, seconds: float
) -> None:
    modelled = needs(aligner, sequences, longest)
    assert mib <= modelled.memory_mib <= 1.6 * mib + 100, modelled  # above it, not wildly
    if aligner == "clustalo":
        assert 0.5 * seconds <= modelled.seconds <= 2 * seconds, modelled


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
