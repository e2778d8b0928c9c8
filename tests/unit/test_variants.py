"""Variant embedding and the alternative-protein rules (SPEC section 3), on designed genes.

Each expected protein is the designed protein edited by hand (or the designed coding DNA
edited as a string and translated by Biopython): never computed by the code under test.
Every case runs on both strands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from Bio.Seq import Seq
from support.genomes import CODON, GeneDesign, write_fasta
from support.variants import alt, codon_index, only_variant, run

from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry
from pavi.domain.variants import Variant

STRANDS = pytest.mark.parametrize("strand", ["+", "-"])
P = GeneDesign().protein  # MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ


@STRANDS
def test_missense(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    # residue 5 is Y (TAC): TAC -> GAC gives D
    v = gene.variant("mis", codon_index(5), "T", "G")
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P[:4] + "D" + P[5:]
    embedded = only_variant(info)
    assert embedded["seq_start_pos"] == embedded["seq_end_pos"] == 5
    assert embedded["embedded_ref_seq_len"] == embedded["embedded_alt_seq_len"] == 1
    assert embedded["seq_substitution_type"] == "substitution"
    assert embedded["seq_length"] == 1
    assert embedded["genomic_start_pos"] == gene.coding_pos(codon_index(5))
    assert embedded["genomic_ref_seq"] == v["ref"] and embedded["genomic_alt_seq"] == v["alt"]


@STRANDS
def test_synonymous(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    # residue 4 is A (GCT): GCT -> GCC is still A
    v = gene.variant("syn", codon_index(4) + 2, "T", "C")
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P
    assert only_variant(info)["seq_start_pos"] == 4


@STRANDS
def test_nonsense_ends_the_protein(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    # residue 9 is Q (CAG): CAG -> TAG
    v = gene.variant("stop", codon_index(9), "C", "T")
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P[:8]
    embedded = only_variant(info)
    # the new stop codon: one past the last residue
    assert embedded["seq_start_pos"] == embedded["seq_end_pos"] == 9


@STRANDS
def test_in_frame_deletion(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    # delete residue 12 (I, ATT), a codon split across exons 1 and 2? no: residue 12 = bases 33..35
    ref = CODON["I"]
    v = gene.variant("del", codon_index(12), ref, "")
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P[:11] + P[12:]
    embedded = only_variant(info)
    assert embedded["seq_substitution_type"] == "deletion"
    assert (embedded["seq_start_pos"], embedded["seq_end_pos"]) == (11, 12)  # the residues around the gap
    assert (embedded["embedded_ref_seq_len"], embedded["embedded_alt_seq_len"]) == (1, 0)


@STRANDS
def test_in_frame_insertion(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    # insert GGT TGG (G W) between residues 20 and 21
    v = gene.variant("ins", codon_index(21), "", "GGTTGG")
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P[:20] + "GW" + P[20:]
    embedded = only_variant(info)
    assert embedded["seq_substitution_type"] == "insertion"
    assert v["end"] == v["start"] + 1
    assert (embedded["seq_start_pos"], embedded["seq_end_pos"]) == (21, 22)
    assert (embedded["embedded_ref_seq_len"], embedded["embedded_alt_seq_len"]) == (0, 2)


@STRANDS
def test_frameshift_reads_the_new_frame_to_its_stop(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    index = codon_index(6)  # residue 6 (I, ATT): delete its first base
    v = gene.variant("fs", index, design.coding[index], "")
    mutated_coding = design.coding[:index] + design.coding[index + 1 :] + design.utr3
    expected = str(Seq(mutated_coding[: len(mutated_coding) // 3 * 3]).translate(to_stop=True))
    assert "*" not in expected and expected != P
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == expected
    embedded = only_variant(info)
    # the previous PAVI's rule (issue 13): a deletion that is not of whole codons on codon
    # boundaries is placed at the residue holding the base after the gap, at both ends
    assert (embedded["seq_start_pos"], embedded["seq_end_pos"]) == (6, 6)


@STRANDS
def test_stop_lost_reads_through_into_the_3prime_exon(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    v = gene.variant("stoplost", len(design.protein) * 3, "T", "C")  # TAA -> CAA (Q)
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P + "Q" + "PG"  # the 3' UTR reads CCA GGT TGA
    assert only_variant(info)["seq_start_pos"] == len(P) + 1


@STRANDS
def test_two_variants_in_one_protein(tmp_path: Path, strand: str) -> None:
    gene = GeneDesign().on_strand(strand)
    a = gene.variant("a", codon_index(5), "T", "G")  # Y5D
    b = gene.variant("b", codon_index(2), CODON["K"], "")  # delete K2
    protein, info = alt(run(tmp_path, strand, [a, b]))
    assert protein == "M" + P[2:4] + "D" + P[5:]
    positions = {v["variant_id"]: (v["seq_start_pos"], v["seq_end_pos"]) for v in info["embedded_variants"]}
    assert positions == {"b": (1, 2), "a": (4, 4)}


@STRANDS
def test_intronic_variant_is_not_embedded(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    intron_pos = design.exons[0][1] + 10  # layout position inside the first intron
    genomic = gene.pos(intron_pos)
    base = gene.genome[genomic - 1]
    v = {"variant_id": "intronic", "seq_id": design.seq_id, "start": genomic, "end": genomic,
         "ref": base, "alt": "A" if base != "A" else "C"}  # fmt: skip
    protein, info = alt(run(tmp_path, strand, [v]))
    assert protein == P
    reason = "in an intron, 10 bases from the nearest exon: spliced out of the mRNA"  # issue 28, item 5
    not_in = [{"variant_id": "intronic", "consequence": ["intron_variant"], "reason": reason}]
    assert info == {"embedded_variants": [], "hgvs_p": "p.=", "variants_not_in_protein": not_in}


@STRANDS
def test_five_prime_utr_variant_leaves_the_protein(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    utr_pos = gene.pos(design.exons[0][0] + 2)
    base = gene.genome[utr_pos - 1]
    v = {"variant_id": "utr", "seq_id": design.seq_id, "start": utr_pos, "end": utr_pos,
         "ref": base, "alt": "T" if base != "T" else "G"}  # fmt: skip
    protein, info = alt(run(tmp_path, strand, [v]))
    reason = "in the 5' UTR, before the start codon: not translated"  # issue 28, item 5
    not_in = [{"variant_id": "utr", "consequence": ["5_prime_UTR_variant"], "reason": reason}]
    assert protein == P and info == {"embedded_variants": [], "hgvs_p": "p.=", "variants_not_in_protein": not_in}


def test_substitution_types() -> None:
    def kind(ref: str, alt: str) -> str:
        return Variant("v", "X", 10, 10 + max(len(ref), 2) - 1, ref, alt).substitution_type

    assert kind("A", "G") == "substitution"
    assert kind("AC", "") == "deletion"
    assert kind("", "T") == "insertion"
    assert kind("AC", "T") == "indel"


def test_reference_failure_marks_the_alternative_too(tmp_path: Path) -> None:
    design = GeneDesign()
    gene = design.on_strand("+")
    url = str(write_fasta(tmp_path, {"other": gene.genome}))
    v = gene.variant("v", 3, "A", "C")
    result = retrieve_entry(parse_job([gene.entry(url, variants=[v])]).seq_regions[0])
    assert result.reference_failed
    assert "not built: the reference sequence failed" in result.sequences[1].info["error"]
    assert result.protein_fasta() == ""
