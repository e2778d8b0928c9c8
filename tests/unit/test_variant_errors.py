"""Alternative-sequence errors a researcher can act on (issue 13): each names the variant, the
reason and, where there is one, the position; every case on both strands.

The expected messages are written out here with positions computed from the designed
layout (:class:`support.genomes.GeneDesign`), never taken from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from Bio.Seq import Seq
from support.genomes import GeneDesign
from support.variants import alt, codon_index, run

STRANDS = pytest.mark.parametrize("strand", ["+", "-"])
P = GeneDesign().protein
UNPREDICTABLE = "the mRNA cannot be predicted (splice site changed), so no alternative protein is made"


def error_of(tmp_path: Path, strand: str, variants: list[dict[str, object]], design: GeneDesign | None = None) -> str:
    protein, info = alt(run(tmp_path, strand, variants, design))
    assert protein is None, info
    message: str = info["error"]
    return message


@STRANDS
def test_start_lost_names_the_variant_and_the_codons(tmp_path: Path, strand: str) -> None:
    v = GeneDesign().on_strand(strand).variant("start", 2, "G", "A")  # ATG -> ATA
    assert error_of(tmp_path, strand, [v]) == (
        "variant start changes the first codon of the CDS (ATG becomes ATA): start codon lost; "
        "the alternative protein is not made (no other start is searched)"
    )


@STRANDS
def test_stop_lost_names_the_variant_that_changes_the_stop(tmp_path: Path, strand: str) -> None:
    design = GeneDesign(utr3="CCCCCCCCCCCC")
    v = design.on_strand(strand).variant("stoplost", len(design.protein) * 3, "T", "C")
    read = len(design.coding) + len(design.utr3)
    assert error_of(tmp_path, strand, [v], design) == (
        "stop codon lost (variant stoplost changes the stop codon) and no new in-frame stop codon "
        f"before the transcript ends ({read} bases read from the start codon): the alternative protein is not made"
    )


@STRANDS
def test_stop_lost_names_the_variant_that_shifts_the_frame(tmp_path: Path, strand: str) -> None:
    design = GeneDesign(utr3="CCCCCCCCCCCC")
    index = codon_index(len(design.protein))  # the last residue (Q, CAG): delete its first base
    shifted = design.coding[:index] + design.coding[index + 1 :] + design.utr3
    assert "*" not in str(Seq(shifted[: len(shifted) // 3 * 3]).translate())  # no stop in the new frame
    v = design.on_strand(strand).variant("fs", index, design.coding[index], "")
    assert error_of(tmp_path, strand, [v], design) == (
        "stop codon lost (variant fs changes the reading frame (-1 bases)) and no new in-frame stop codon "
        f"before the transcript ends ({len(shifted)} bases read from the start codon): the alternative protein "
        "is not made"
    )


@STRANDS
def test_overlapping_variants_are_named(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    a = gene.variant("a", codon_index(5), "TA", "GG")
    b = gene.variant("b", codon_index(5) + 1, "A", "C")
    assert error_of(tmp_path, strand, [a, b]) == "variants a and b overlap"


@STRANDS
def test_a_reference_mismatch_in_the_cds_gives_the_position_and_both_bases(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    v = gene.variant("wrongref", codon_index(5), "G", "C")  # the CDS has T there (TAC)
    expected, genome = ("G", "T") if strand == "+" else ("C", "A")
    assert error_of(tmp_path, strand, [v]) == (
        f"variant wrongref: reference mismatch at chrT:{v['start']}: expected {expected}, genome has {genome}"
    )


@STRANDS
def test_a_reference_mismatch_in_an_intron_is_an_error_too(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    v = gene.layout_variant("intronic", 100, 101, "TT")  # the middle of intron 1
    true_ref = str(v["ref"])
    wrong = "".join("A" if base != "A" else "C" for base in true_ref[:1]) + true_ref[1:]
    message = error_of(tmp_path, strand, [{**v, "ref": wrong}])
    assert message == (
        f"variant intronic: reference mismatch at chrT:{v['start']}: expected {wrong[0]}, genome has "
        f"{true_ref[0]} (reference allele {wrong}, genome reads {true_ref})"
    )


def test_a_variant_past_the_sequences_end_says_so(tmp_path: Path) -> None:
    v = {"variant_id": "faraway", "seq_id": "chrT", "start": 90_000, "end": 90_000, "ref": "A", "alt": "C"}
    length = len(GeneDesign().layout)
    assert error_of(tmp_path, "+", [v]) == (
        "variant faraway: its location cannot be read from the genome (region 90000..90000 is past the end "
        f"of sequence 'chrT' (length {length}))"
    )


@STRANDS
@pytest.mark.parametrize(
    ("first", "last", "kind", "intron", "site"),
    [
        (83, 83, "donor", 1, (83, 84)),  # an SNV of intron 1's first base (the G of GT)
        (84, 84, "donor", 1, (83, 84)),  # its second base (the T)
        (81, 83, "donor", 1, (83, 84)),  # a deletion from exon 1's end into intron 1
        (209, 209, "acceptor", 2, (209, 210)),  # the A of intron 2's AG
        (210, 212, "acceptor", 2, (209, 210)),  # from intron 2's last base into exon 3
    ],
)
def test_a_changed_splice_site_is_named(
    tmp_path: Path, strand: str, first: int, last: int, kind: str, intron: int, site: tuple[int, int]
) -> None:
    design = GeneDesign()
    assert design.exons[0][1] == 82 and design.exons[1][0] == 133  # intron 1 is 83..132
    assert design.exons[1][1] == 163 and design.exons[2][0] == 211  # intron 2 is 164..210
    gene = design.on_strand(strand)
    alt_bases = "" if last > first else ("A" if gene.design.layout[first - 1] != "A" else "C")
    v = gene.layout_variant("sv", first, last, alt_bases)
    low, high = gene.region(*site)
    which = "first" if kind == "donor" else "last"
    assert error_of(tmp_path, strand, [v]) == (
        f"variant sv: changes the {kind} splice site of intron {intron} (chrT:{low}-{high}, "
        f"the intron's {which} two bases); {UNPREDICTABLE}"
    )


@STRANDS
@pytest.mark.parametrize(
    ("after", "kind", "site"),
    [(82, "donor", (83, 84)), (83, "donor", (83, 84)), (209, "acceptor", (209, 210)), (210, "acceptor", (209, 210))],
)
def test_an_insertion_at_a_junction_or_inside_a_splice_site_is_named(
    tmp_path: Path, strand: str, after: int, kind: str, site: tuple[int, int]
) -> None:
    gene = GeneDesign().on_strand(strand)
    v = gene.layout_insertion("ins", after, "GCA")
    low, high = gene.region(*site)
    which = "first" if kind == "donor" else "last"
    intron = 1 if kind == "donor" else 2
    assert error_of(tmp_path, strand, [v]) == (
        f"variant ins: inserts between {v['start']} and {v['end']}, at the {kind} splice site of intron {intron} "
        f"(chrT:{low}-{high}, the intron's {which} two bases); {UNPREDICTABLE}"
    )


@STRANDS
@pytest.mark.parametrize("after", [84, 207])  # past the GT, before the AG: both sites intact
def test_an_insertion_inside_an_intron_but_off_its_splice_sites_leaves_the_protein(
    tmp_path: Path, strand: str, after: int
) -> None:
    v = GeneDesign().on_strand(strand).layout_insertion("ins", after, "GCA")
    assert alt(run(tmp_path, strand, [v])) == (P, {"embedded_variants": [], "hgvs_p": "p.="})


@STRANDS
def test_a_deletion_past_the_transcripts_end_says_so(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    v = gene.layout_variant("tss", 39, 42)  # from the 5' flank into exon 1's first bases
    low, high = gene.region(design.exons[0][0], design.exons[-1][1])
    assert error_of(tmp_path, strand, [v]) == (
        f"variant tss: it reaches past the transcript's annotated ends (chrT:{low}-{high}); not embedded"
    )
