"""Building a job from real-sized files (issue 30): a 3 GB genome, a 1.5 M-line GFF3 and a 5 M-record
VCF, 25 transcripts with their variants.

    .venv/bin/python benchmarks/job_from_files.py [--genome-mb 3000] [--gff-lines 1500000]
        [--vcf-records 5000000] [--folder DIR] [--json]

The files are generated (seeded) into ``--folder`` (kept: a second run reuses them): a bgzip FASTA
with its .fai/.gzi (24 chromosomes of random bases), a GFF3 of genes in Ensembl's style (gene,
mRNA, about 10 exons and their CDS parts a transcript) written plain and as bgzip with a tabix
index, and a VCF (bgzip, tabix) of SNVs and small indels whose REF is the genome's. Then
``pavi job`` builds the request for 25 genes by name, with their variants, in a process of its
own: its wall time and peak resident memory (``wait4``) are reported, for the plain and the
indexed annotation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import pysam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_peak import run_measured

PAVI = str(Path(sys.executable).with_name("pavi"))
CHROMOSOMES = 24
BASES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)


def generate(folder: Path, genome_mb: int, gff_lines: int, vcf_records: int) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "made.json"
    wanted = {"genome_mb": genome_mb, "gff_lines": gff_lines, "vcf_records": vcf_records}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return wanted
    rng = random.Random(30)
    length = genome_mb * 1_000_000 // CHROMOSOMES
    genes_per_chromosome = max(1, gff_lines // 23 // CHROMOSOMES)  # 1 gene, 1 mRNA, 10 exons, 10 CDS, 1 more
    records_per_chromosome = max(1, vcf_records // CHROMOSOMES)
    fasta = pysam.BGZFile(str(folder / "genome.fa.gz"), "wb")
    gff, vcf = (folder / "genes.gff3").open("w"), (folder / "calls.vcf").open("w")
    gff.write("##gff-version 3\n")
    vcf.write("##fileformat=VCFv4.2\n")
    vcf.writelines(f"##contig=<ID=chr{c},length={length}>\n" for c in range(1, CHROMOSOMES + 1))
    vcf.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for number in range(1, CHROMOSOMES + 1):
        name = f"chr{number}"
        sequence = os.urandom(length).translate(BASES)
        fasta.write(f">{name}\n".encode())
        for start in range(0, length, 60):
            fasta.write(sequence[start : start + 60] + b"\n")
        span = length // genes_per_chromosome
        lines: list[tuple[int, str]] = []
        for g in range(genes_per_chromosome):
            low = g * span + 1000
            gene, transcript = f"G{number}_{g}", f"T{number}_{g}"
            exons, at = [], low
            for _ in range(10):
                exons.append((at, at + 149))  # 150 bases: whole codons
                at += 150 + rng.randrange(200, 2000)
            high = exons[-1][1]
            strand = "+-"[g % 2]
            lines += [
                (low, f"{name}\tbench\tgene\t{low}\t{high}\t.\t{strand}\t.\tID=gene:{gene};Name=GENE{number}_{g}\n"),
                (
                    low,
                    f"{name}\tbench\tmRNA\t{low}\t{high}\t.\t{strand}\t.\tID=transcript:{transcript};Parent=gene:{gene}\n",
                ),
                (low, f"{name}\tbench\tfive_prime_UTR\t{low}\t{low}\t.\t{strand}\t.\tParent=transcript:{transcript}\n"),
            ]
            for a, b in exons:
                lines.append((a, f"{name}\tbench\texon\t{a}\t{b}\t.\t{strand}\t.\tParent=transcript:{transcript}\n"))
                lines.append((a, f"{name}\tbench\tCDS\t{a}\t{b}\t.\t{strand}\t0\tParent=transcript:{transcript}\n"))
        gff.writelines(line for _, line in sorted(lines, key=lambda item: item[0]))  # tabix wants them sorted
        positions = sorted(rng.sample(range(2, length - 10), records_per_chromosome))
        for position in positions:
            ref = chr(sequence[position - 1])
            kind = rng.random()
            if kind < 0.8:
                alt = "ACGT"[("ACGT".index(ref) + rng.randrange(1, 4)) % 4]
                vcf.write(f"{name}\t{position}\t.\t{ref}\t{alt}\t.\tPASS\t.\n")
            elif kind < 0.9:
                vcf.write(
                    f"{name}\t{position}\t.\t{sequence[position - 1 : position + 2].decode()}\t{ref}\t.\tPASS\t.\n"
                )
            else:
                vcf.write(f"{name}\t{position}\t.\t{ref}\t{ref}GA\t.\tPASS\t.\n")
    fasta.close()
    gff.close()
    vcf.close()
    pysam.faidx(str(folder / "genome.fa.gz"))
    pysam.tabix_compress(str(folder / "calls.vcf"), str(folder / "calls.vcf.gz"), force=True)
    pysam.tabix_index(str(folder / "calls.vcf.gz"), preset="vcf", force=True)
    (folder / "calls.vcf").unlink()
    pysam.tabix_compress(str(folder / "genes.gff3"), str(folder / "genes.gff3.gz"), force=True)
    pysam.tabix_index(str(folder / "genes.gff3.gz"), preset="gff", force=True)
    stamp.write_text(json.dumps(wanted))
    return wanted


def build(folder: Path, annotation: str, names: list[str]) -> dict[str, Any]:
    """``pavi job`` in a process of its own: seconds, peak MiB, and what it wrote."""
    out = folder / "request.json"
    command = [PAVI, "job", "--genome", str(folder / "genome.fa.gz"), "--annotation", str(folder / annotation),
               "--variants", str(folder / "calls.vcf.gz"), "--select", *names, "--out", str(out)]  # fmt: skip
    ran = run_measured(command, "pavi job")
    entries = json.loads(out.read_text())["seq_regions"]
    return {
        "annotation": annotation,
        "seconds": round(ran["seconds"], 2),
        "peak_mib": round(ran["peak_mib"]),
        "entries": len(entries),
        "variants": sum(len(e.get("variants", [])) for e in entries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genome-mb", type=int, default=3000)
    parser.add_argument("--gff-lines", type=int, default=1_500_000)
    parser.add_argument("--vcf-records", type=int, default=5_000_000)
    parser.add_argument("--folder", default="/tmp/pavi-job-bench")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(args.folder)
    began = time.perf_counter()
    sizes = generate(folder, args.genome_mb, args.gff_lines, args.vcf_records)
    made_in = time.perf_counter() - began
    genes = max(1, args.gff_lines // 23 // CHROMOSOMES)
    names = [f"GENE{1 + (i * 7) % CHROMOSOMES}_{(i * 13) % genes}" for i in range(25)]
    rows = [build(folder, annotation, names) for annotation in ("genes.gff3", "genes.gff3.gz")]
    result = {"files": sizes, "generated_seconds": round(made_in, 1), "builds": rows}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    lines = sum(1 for _ in (folder / "genes.gff3").open())
    print(f"files: {sizes['genome_mb']:,} Mb genome, {lines:,} GFF3 lines, {sizes['vcf_records']:,} VCF records")
    for row in rows:
        print(
            f"{row['annotation']:>14}: {row['entries']} entries, {row['variants']} variants in "
            f"{row['seconds']:.2f} s, peak {row['peak_mib']} MiB"
        )


if __name__ == "__main__":
    main()
