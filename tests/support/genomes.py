"""Test genomes built by the tests themselves, indexed with pysam (htslib), not with our code.

:class:`GeneDesign` lays out a three-exon gene from a designed protein, with UTRs and
introns, on either strand, and knows the genomic position of every coding base: tests
state variants in coding coordinates and compute the expected protein by editing the
designed coding DNA as plain strings, independently of the code under test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pysam
from Bio.Seq import Seq

# one fixed codon per amino acid: the coding DNA of a designed protein is unambiguous
CODON = {
    "A": "GCT", "C": "TGC", "D": "GAT", "E": "GAA", "F": "TTC", "G": "GGT", "H": "CAC", "I": "ATT",
    "K": "AAA", "L": "CTG", "M": "ATG", "N": "AAC", "P": "CCA", "Q": "CAG", "R": "CGT", "S": "TCT",
    "T": "ACC", "V": "GTT", "W": "TGG", "Y": "TAC",
}  # fmt: skip


def revcomp(seq: str) -> str:
    return str(Seq(seq).reverse_complement())


def encode(protein: str) -> str:
    return "".join(CODON[aa] for aa in protein)


def write_fasta(folder: Path, sequences: dict[str, str], name: str = "genome.fa", bgzip: bool = True) -> Path:
    """Write a FASTA (60 bases a line), bgzip it if asked, and index it with pysam."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / name
    with plain.open("w") as handle:
        for seq_id, seq in sequences.items():
            handle.write(f">{seq_id}\n")
            for i in range(0, len(seq), 60):
                handle.write(seq[i : i + 60] + "\n")
    if not bgzip:
        pysam.faidx(str(plain))
        return plain
    compressed = folder / (name + ".gz")
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    pysam.faidx(str(compressed))
    plain.unlink()
    return compressed


def random_dna(length: int, seed: int) -> str:
    return "".join(random.Random(seed).choices("ACGT", k=length))


def intron(length: int, seed: int) -> str:
    """GT ... AG with a middle free of nothing in particular (introns are not translated)."""
    return "GT" + random_dna(length - 4, seed) + "AG"


@dataclass
class GeneDesign:
    """A plus-strand layout of a three-exon gene; :meth:`on_strand` mirrors it to the minus strand.

    Layout (1-based): flank | 5'UTR + CDS part 1 | intron | CDS part 2 | intron | CDS part 3 + stop + 3'UTR | flank
    """

    protein: str = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    utr5: str = "CCGCCGCTTCC"
    utr3: str = "CCAGGTTGACCCCCC"  # in frame after the stop: CCA GGT TGA -> P G stop
    stop: str = "TAA"
    flank: int = 40
    seq_id: str = "chrT"

    def __post_init__(self) -> None:
        coding = encode(self.protein) + self.stop
        cut1, cut2 = 31, 62  # not codon-aligned: codons split across exons
        self.coding = coding
        pieces = [coding[:cut1], coding[cut1:cut2], coding[cut2:]]
        left = random_dna(self.flank, 11)
        exon1 = self.utr5 + pieces[0]
        exon2 = pieces[1]
        exon3 = pieces[2] + self.utr3
        i1, i2 = intron(50, 12), intron(47, 13)
        self.layout = left + exon1 + i1 + exon2 + i2 + exon3 + random_dna(self.flank, 14)
        e1 = (len(left) + 1, len(left) + len(exon1))
        e2 = (e1[1] + len(i1) + 1, e1[1] + len(i1) + len(exon2))
        e3 = (e2[1] + len(i2) + 1, e2[1] + len(i2) + len(exon3))
        self.exons = [e1, e2, e3]
        self.cds = [(e1[0] + len(self.utr5), e1[1]), e2, (e3[0], e3[0] + len(pieces[2]) - 1)]
        # genomic (plus-strand layout) position of each coding base, 0-based coding index
        self.coding_positions = [p for a, b in self.cds for p in range(a, b + 1)]
        self.exon_positions = [p for a, b in self.exons for p in range(a, b + 1)]

    @property
    def transcript(self) -> str:
        return "".join(self.layout[p - 1] for p in self.exon_positions)

    def on_strand(self, strand: str) -> StrandedGene:
        return StrandedGene(self, strand)


@dataclass
class StrandedGene:
    """The design placed on one strand of a genome sequence."""

    design: GeneDesign
    strand: str

    @property
    def genome(self) -> str:
        return self.design.layout if self.strand == "+" else revcomp(self.design.layout)

    def pos(self, layout_position: int) -> int:
        """Genome position of a layout position."""
        return layout_position if self.strand == "+" else len(self.design.layout) - layout_position + 1

    def region(self, a: int, b: int) -> tuple[int, int]:
        """A layout region as a genome (low, high) region."""
        return tuple(sorted((self.pos(a), self.pos(b))))  # type: ignore[return-value]

    def coding_pos(self, index: int) -> int:
        """Genome position of coding base ``index`` (0-based, in transcript orientation)."""
        return self.pos(self.design.coding_positions[index])

    def entry(self, url: str, spelling: str = "dict", **extra: object) -> dict[str, object]:
        exons = [self.region(a, b) for a, b in self.design.exons]
        cds = [self.region(a, b) for a, b in self.design.cds]

        def spell(r: tuple[int, int]) -> object:
            low, high = r
            if spelling == "string":
                return f"{low}..{high}" if self.strand == "+" else f"{high}..{low}"
            if spelling == "reversed" and self.strand == "-":
                return {"start": high, "end": low}
            return {"start": low, "end": high}

        entry: dict[str, object] = {
            "unique_entry_id": f"gene{self.strand.replace('+', 'plus').replace('-', 'minus')}",
            "base_seq_name": f"gene_{'plus' if self.strand == '+' else 'minus'}",
            "seq_id": self.design.seq_id,
            "seq_strand": self.strand,
            "fasta_file_url": url,
            "exon_seq_regions": [spell(r) for r in exons],
            "cds_seq_regions": [{**_as_dict(r), "frame": 0} for r in cds],
        }
        entry.update(extra)
        return entry

    def variant(self, variant_id: str, coding_index: int, ref: str, alt: str) -> dict[str, object]:
        """An inline variant given in transcript orientation at a coding index (0-based).

        ``ref`` is the transcript-orientation reference bases starting at ``coding_index``;
        an insertion (``ref`` "") goes between ``coding_index - 1`` and ``coding_index``.
        """
        if ref:
            positions = [self.coding_pos(coding_index + k) for k in range(len(ref))]
        else:
            positions = [self.coding_pos(coding_index - 1), self.coding_pos(coding_index)]
        low, high = min(positions), max(positions)
        genomic_ref = ref if self.strand == "+" else revcomp(ref)
        genomic_alt = alt if self.strand == "+" else revcomp(alt)
        return {
            "variant_id": variant_id,
            "seq_id": self.design.seq_id,
            "start": low,
            "end": high,
            "ref": genomic_ref,
            "alt": genomic_alt,
        }

    def layout_variant(self, variant_id: str, first: int, last: int, alt: str = "") -> dict[str, object]:
        """A variant of layout positions ``first..last`` (the genome's reference bases), with
        ``alt`` in transcript orientation: anywhere, in an exon, an intron or a flank."""
        low, high = self.region(first, last)
        return {
            "variant_id": variant_id,
            "seq_id": self.design.seq_id,
            "start": low,
            "end": high,
            "ref": self.genome[low - 1 : high],
            "alt": alt if self.strand == "+" else revcomp(alt),
        }

    def layout_insertion(self, variant_id: str, after: int, alt: str) -> dict[str, object]:
        """An insertion between layout positions ``after`` and ``after + 1``."""
        return {**self.layout_variant(variant_id, after, after + 1, alt), "ref": ""}


def _as_dict(region: tuple[int, int]) -> dict[str, int]:
    return {"start": region[0], "end": region[1]}
