"""A titin job end to end through the local state machine (issue 29): human TTN and mouse Ttn
isoforms with five orthologs' titins, aligned in the task the model chose.

    .venv/bin/python benchmarks/titin_job.py [--json]

The proteins are synthetic, of the real proteins' lengths (UniProt: human TTN Q8WZ42 34,350
residues, its N2B isoform 26,926; mouse Ttn A2ASS6 35,213, its N2B isoform 27,118; and five
orthologs' titins of 33,000 to 35,991 residues): one random root, each species a copy with
substitutions growing with its distance from human (3% to 25%) and exon-sized blocks left out
to its length; each gene on a chromosome of its own, in exons of 1,500 bases with introns,
written as a bgzip FASTA. Human TTN also carries one missense variant, so its alternative protein
is aligned too. The job runs in :class:`pavi.local.stack.EmulatedStack` as ``pavi run`` runs it:
the validation plans the alignment (Clustal Omega would need about 66 GiB, past the default
30 GiB ceiling: FAMSA), the Batch host gives the container the planned memory and kills it past
that. Reported: the plan, the aligner's wall time and its processes' peak resident memory
(sampled from ``/proc`` every 0.2 s), each step's time, and the job's outcome.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from support.genomes import write_fasta  # noqa: E402

from pavi.local.container import resident_mib  # noqa: E402
from pavi.local.stack import EmulatedStack  # noqa: E402

AMINO = "ACDEFGHIKLMNPQRSTVWY"
CODON = {
    "A": "GCC", "C": "TGC", "D": "GAC", "E": "GAG", "F": "TTC", "G": "GGC", "H": "CAC", "I": "ATC",
    "K": "AAG", "L": "CTG", "M": "ATG", "N": "AAC", "P": "CCC", "Q": "CAG", "R": "CGC", "S": "AGC",
    "T": "ACC", "V": "GTG", "W": "TGG", "Y": "TAC",
}  # fmt: skip
# (gene, transcript, residues, substitutions from the root)
TITINS = [
    ("TTN", "TTN-N2BA", 34_350, 0.03),
    ("TTN", "TTN-N2B", 26_926, 0.03),
    ("Ttn", "Ttn-N2BA", 35_213, 0.08),
    ("Ttn", "Ttn-N2B", 27_118, 0.08),
    ("rat_Ttn", "rat_Ttn", 35_991, 0.09),
    ("dog_TTN", "dog_TTN", 34_942, 0.07),
    ("chicken_TTN", "chicken_TTN", 33_423, 0.15),
    ("frog_ttn", "frog_ttn", 34_000, 0.2),
    ("zebrafish_ttn", "zebrafish_ttn.1", 33_000, 0.25),
]
EXON_CODONS, INTRON = 500, "GTAAGT" + "T" * 140 + "CAG"


def proteins(seed: int = 29) -> dict[str, str]:
    """Each transcript's protein: its species' copy of the root, exon-sized blocks left out."""
    rng = random.Random(seed)
    root = "M" + "".join(rng.choice(AMINO) for _ in range(max(n for _, _, n, _ in TITINS) - 1))
    species: dict[str, str] = {}
    made = {}
    for gene, transcript, length, substitutions in TITINS:
        if gene not in species:
            species[gene] = "M" + "".join(
                rng.choice(AMINO) if rng.random() < substitutions else residue for residue in root[1:]
            )
        residues = species[gene]
        while len(residues) > length:  # leave out a block the size of an exon, or the surplus
            cut = min(len(residues) - length, EXON_CODONS)
            at = rng.randrange(1, len(residues) - cut)
            residues = residues[:at] + residues[at + cut :]
        made[transcript] = residues
    return made


def gene_entry(transcript: str, protein: str, url: str) -> tuple[str, dict[str, Any]]:
    """The chromosome holding the transcript's gene, and its entry."""
    coding = "".join(CODON[residue] for residue in protein) + "TAA"
    chromosome, regions, at = "N" * 200, [], 201
    for start in range(0, len(coding), 3 * EXON_CODONS):
        exon = coding[start : start + 3 * EXON_CODONS]
        regions.append({"start": at, "end": at + len(exon) - 1})
        chromosome += exon + INTRON
        at += len(exon) + len(INTRON)
    entry = {
        "unique_entry_id": transcript,
        "base_seq_name": transcript,
        "seq_id": f"chr_{transcript}",
        "seq_strand": "+",
        "fasta_file_url": url,
        "exon_seq_regions": regions,
        "cds_seq_regions": [{**region, "frame": 0} for region in regions],
    }
    return chromosome + "N" * 200, entry


class PeakSampler(threading.Thread):
    """The peak resident memory of the alignment's processes (``pavi clustalo``), from /proc."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mib, self.stopped = 0.0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and b"clustalo\x00" in (entry / "cmdline").read_bytes():
                        self.peak_mib = max(self.peak_mib, resident_mib(int(entry.name)))
                except OSError:
                    continue


def measure() -> dict[str, Any]:
    made = proteins()
    with tempfile.TemporaryDirectory(prefix="pavi-titin-") as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)  # the jobs' containers run as the images' user
        url = str(folder / "genome.fa.gz")
        chromosomes, entries = {}, []
        for transcript, protein in made.items():
            chromosome, entry = gene_entry(transcript, protein, url)
            chromosomes[entry["seq_id"]] = chromosome
            entries.append(entry)
        write_fasta(folder, chromosomes)
        first = entries[0]["cds_seq_regions"][0]["start"] + 3 * 99  # codon 100 of human TTN
        base = chromosomes[entries[0]["seq_id"]][first - 1]
        entries[0]["variants"] = [
            {"variant_id": "TTN:snv", "seq_id": entries[0]["seq_id"], "start": first, "end": first,
             "ref": base, "alt": "A" if base != "A" else "C"}
        ]  # fmt: skip
        sampler = PeakSampler()
        with EmulatedStack(log_dir=folder / "logs") as stack:
            sampler.start()
            began = time.monotonic()
            job_id, arn = stack.start({"seq_regions": entries})
            description = stack.wait(arn, 7200)
            wall = time.monotonic() - began
            sampler.stopped.set()
            report = json.loads(stack.read(f"results/{job_id}/job-report.json"))
            aligned = stack.read(f"results/{job_id}/alignment-output.aln")
            (task,) = [job for job in stack.batch.jobs.values() if job.name == f"pavi-align-{job_id}"]
            attempt = task.attempts[-1]
    alignment = report["provenance"]["alignment"]
    return {
        "status": description["status"],
        "proteins": {name: len(residues) for name, residues in made.items()},
        "sequences_aligned": report["counts"].get("sequences"),
        "aligner": alignment.get("aligner"),
        "aligner_chosen_because": alignment.get("aligner_chosen_because"),
        "task": alignment.get("task"),
        "container_memory_mib": task.memory,
        "alignment_seconds": round((attempt["stoppedAt"] - attempt["startedAt"]) / 1000, 1),
        "alignment_peak_mib": round(sampler.peak_mib),
        "alignment_bytes": len(aligned),
        "wall_seconds": round(wall, 1),
        "steps": {step["step"]: step["seconds"] for step in report["steps"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    if args.json:
        print(json.dumps(result, indent=1))
        return
    task = result["task"] or {}
    print(
        f"{result['status']}: {result['sequences_aligned']} sequences ({min(result['proteins'].values()):,} to "
        f"{max(result['proteins'].values()):,} residues) aligned by {result['aligner']} "
        f"({result['aligner_chosen_because']})"
    )
    print(
        f"task: {task.get('vcpus')} vCPU, {task.get('memory')} MiB (model {task.get('modelled_mib')} MiB, "
        f"{task.get('modelled_wall_seconds')} s; {task.get('chosen_because')}); container limit "
        f"{result['container_memory_mib']} MiB"
    )
    print(
        f"alignment {result['alignment_seconds']} s, peak {result['alignment_peak_mib']:,} MiB; "
        f"job {result['wall_seconds']} s: " + ", ".join(f"{k} {v:.1f}s" for k, v in result["steps"].items())
    )


if __name__ == "__main__":
    main()
