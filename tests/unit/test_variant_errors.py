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
    design = GeneDesign()
    v = design.on_strand(strand).layout_insertion("ins", after, "GCA")
    protein, info = alt(run(tmp_path, strand, [v]))
    (said,) = info.pop("variants_not_in_protein")  # issue 28, item 5: accounted for, with its terms
    assert (protein, info) == (P, {"embedded_variants": [], "hgvs_p": "p.="})
    # the distance by hand: from the insertion's flanks (after, after + 1) to the nearest exon base
    nearest = min(abs(p - edge) for p in (after, after + 1) for exon in design.exons for edge in exon)
    terms = ["splice_region_variant", "intron_variant"] if 3 <= nearest <= 8 else ["intron_variant"]
    assert said == {
        "variant_id": "ins",
        "consequence": terms,
        "reason": f"in an intron, {nearest} bases from the nearest exon: spliced out of the mRNA",
    }


@STRANDS
def test_a_deletion_past_the_transcripts_end_says_so(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    v = gene.layout_variant("tss", 39, 42)  # from the 5' flank into exon 1's first bases
    low, high = gene.region(design.exons[0][0], design.exons[-1][1])
    assert error_of(tmp_path, strand, [v]) == (
        f"variant tss: it reaches past the transcript's annotated ends (chrT:{low}-{high}); not embedded"
    )


# -- issue 28, item 5: an entry failed by a variant names its SO term; every variant accounted for


def failed_terms(tmp_path: Path, strand: str, variants: list[dict[str, object]], design: GeneDesign) -> tuple:
    protein, info = alt(run(tmp_path, strand, variants, design))
    assert protein is None and info["error"], info
    return info.get("consequence"), info.get("hgvs_p")


@STRANDS
def test_a_failed_alternative_names_the_variants_so_term(tmp_path: Path, strand: str) -> None:
    design, closed = GeneDesign(), GeneDesign(utr3="CCCCCCCCCCCC")
    gene, closed_gene = design.on_strand(strand), closed.on_strand(strand)
    last = codon_index(len(closed.protein))
    cases = [
        (design, [gene.variant("start", 2, "G", "A")], (["start_lost"], "p.Met1?")),
        (closed, [closed_gene.variant("stoplost", len(closed.protein) * 3, "T", "C")], (["stop_lost"], None)),
        (closed, [closed_gene.variant("fs", last, closed.coding[last], "")], (["frameshift_variant"], None)),
        (design, [gene.layout_variant("sv", 83, 83, "C" if design.layout[82] != "C" else "A")],
         (["splice_donor_variant"], None)),
        (design, [gene.layout_variant("sv", 209, 209, "C" if design.layout[208] != "C" else "G")],
         (["splice_acceptor_variant"], None)),
    ]  # fmt: skip
    for number, (which, variants, expected) in enumerate(cases):
        assert failed_terms(tmp_path / str(number), strand, variants, which) == expected, variants


@STRANDS
def test_every_variant_the_protein_does_not_carry_is_reported_with_its_term(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    stop_end = len(design.coding)  # the 3' UTR's first base is coding index len(coding)
    utr3_pos = gene.coding_pos(stop_end - 1) + (1 if strand == "+" else -1)
    base = gene.genome[utr3_pos - 1]
    three_prime = {"variant_id": "utr3", "seq_id": design.seq_id, "start": utr3_pos, "end": utr3_pos,
                   "ref": base, "alt": "G" if base != "G" else "T"}  # fmt: skip
    first, last = gene.region(design.exons[0][0], design.exons[-1][1])  # the transcript's genomic span
    five_side, three_side = (first - 5, last + 5) if strand == "+" else (last + 5, first - 5)
    outside = [
        {"variant_id": "up", "seq_id": design.seq_id, "start": five_side, "end": five_side,
         "ref": gene.genome[five_side - 1], "alt": "G" if gene.genome[five_side - 1] != "G" else "T"},
        {"variant_id": "down", "seq_id": design.seq_id, "start": three_side, "end": three_side,
         "ref": gene.genome[three_side - 1], "alt": "G" if gene.genome[three_side - 1] != "G" else "T"},
    ]  # fmt: skip
    protein, info = alt(run(tmp_path, strand, [three_prime, *outside]))
    assert protein == P and info["embedded_variants"] == []
    said = {v["variant_id"]: (v["consequence"], v["reason"]) for v in info["variants_not_in_protein"]}
    assert said == {
        "utr3": (["3_prime_UTR_variant"], "in the 3' UTR, after the stop codon: not translated"),
        "up": (["upstream_gene_variant"], f"5 bases 5' of the transcript (chrT:{first}-{last})"),
        "down": (["downstream_gene_variant"], f"5 bases 3' of the transcript (chrT:{first}-{last})"),
    }
