"""Issue 21, item 1: each embedded variant's SO consequence and HGVS p. description, and one
for the alternative protein as a whole.

The expected strings are written from the designed protein by hand (the HGVS rules: 3' shift,
dup, fsTer counted from the first changed residue, extTer from the former stop); every string
the pipeline writes must parse with biocommons ``hgvs`` (an implementation none of us wrote),
and protein pairs are also described by ``hgvs``'s own builder and compared.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hgvs.parser
import pytest
from Bio.Seq import Seq
from Bio.SeqUtils import seq3
from hgvs.utils.altseq_to_hgvsp import AltSeqToHgvsp
from support.genomes import GeneDesign, write_fasta
from support.variants import REPO, consequence_rows, consequence_table

from pavi.domain.consequence import describe
from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry

DESIGN = GeneDesign()  # M K T A Y I A K Q R Q I S F V K S H F S R Q L E E R L G L I E V Q, then TAA
SO_TERMS = {
    "missense_variant",
    "synonymous_variant",
    "stop_gained",
    "stop_lost",
    "stop_retained_variant",
    "start_lost",
    "start_retained_variant",
    "frameshift_variant",
    "inframe_deletion",
    "inframe_insertion",
    "protein_altering_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "intron_variant",
}
PARSER = hgvs.parser.Parser()

# (name, coding index, reference bases, alternative bases, consequence, hgvs_p)
CASES = [
    ("missense", 12, "TAC", "TGC", ["missense_variant"], "p.Tyr5Cys"),
    ("nonsense", 15, "ATT", "TAA", ["stop_gained"], "p.Ile6Ter"),
    ("synonymous", 9, "GCT", "GCC", ["synonymous_variant"], "p.Ala4="),
    ("deletion", 21, "AAA", "", ["inframe_deletion"], "p.Lys8del"),
    ("deletion shifted 3'", 69, "GAA", "", ["inframe_deletion"], "p.Glu25del"),
    ("two residues deleted", 21, "AAACAG", "", ["inframe_deletion"], "p.Lys8_Gln9del"),
    ("duplication", 72, "", "GAA", ["inframe_insertion"], "p.Glu25dup"),
    ("insertion", 9, "", "TGG", ["inframe_insertion"], "p.Thr3_Ala4insTrp"),
    # issue 28: neither a clean insertion nor a clean deletion (VEP: protein_altering_variant)
    ("delins", 81, "GGT", "TGGGTT", ["protein_altering_variant"], "p.Gly28delinsTrpVal"),
    ("delins, one residue fewer", 81, "GGTCTG", "TGG", ["protein_altering_variant"], "p.Gly28_Leu29delinsTrp"),
    # issue 28: an in-frame change whose new codons end in a stop is stop_gained, the stop inserted
    ("MNV making a stop", 23, "AC", "CT", ["stop_gained"], "p.Lys8_Gln9delinsAsnTer"),
    ("delins making a stop", 21, "AAACAG", "AACTAG", ["stop_gained"], "p.Lys8_Gln9delinsAsnTer"),
    ("insertion ending in a stop", 24, "", "CTGTAA", ["stop_gained", "inframe_insertion"], "p.Gln9_Arg10delinsLeuTer"),
    # issue 28: the stop codon untouched is not stop_lost
    ("insertion before the stop", 99, "", "CTG", ["inframe_insertion"], "p.Gln33_Ter34insLeu"),
    # VEP's predicates: the inserted peptide (a stop) begins with the reference's (none), and the stop stays
    ("stop inserted before the stop", 99, "", "TAG", ["inframe_insertion", "stop_retained_variant"], "p.Ter34="),
    ("stop lost", 99, "TAA", "CAA", ["stop_lost"], "p.Ter34GlnextTer3"),
    ("stop retained", 99, "TAA", "TAG", ["stop_retained_variant"], "p.Ter34="),
]


def run(tmp_path: Path, strand: str, variants: list[dict[str, Any]]) -> dict[str, Any]:
    gene = DESIGN.on_strand(strand)
    url = str(write_fasta(tmp_path, {DESIGN.seq_id: gene.genome}))
    entry = parse_job([gene.entry(url, variants=variants)]).seq_regions[0]
    result = retrieve_entry(entry)
    info: dict[str, Any] = result.sequences[1].info
    assert "error" not in info, info
    return info


def parses(description: str) -> bool:
    PARSER.parse_p_posedit(description.removeprefix("p."))
    return True


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize(("name", "index", "ref", "alt", "consequence", "hgvs_p"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_change(
    tmp_path: Path, strand: str, name: str, index: int, ref: str, alt: str, consequence: list[str], hgvs_p: str
) -> None:
    variant = DESIGN.on_strand(strand).variant("v", index, ref, alt)
    info = run(tmp_path, strand, [variant])
    (embedded,) = info["embedded_variants"]
    assert (embedded["consequence"], embedded["hgvs_p"]) == (consequence, hgvs_p)
    assert info["hgvs_p"] == (hgvs_p if not hgvs_p.endswith("=") else "p.=")
    assert parses(hgvs_p) and set(consequence) <= SO_TERMS


STOPS_IN_EVERY_FRAME = GeneDesign(utr3="CTAGCTAGCTAGCCC")  # TAG in each frame of the 3' UTR


def run_design(
    tmp_path: Path, design: GeneDesign, strand: str, variants: list[dict[str, Any]], partial: int = 0
) -> Any:
    """One entry of ``design`` with ``variants``; ``partial``: bases cut from the CDS's 3' end (a
    CDS without its stop codon, as a 3'-partial annotation has it)."""
    gene = design.on_strand(strand)
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    entry = gene.entry(url, variants=variants)
    last = entry["cds_seq_regions"][-1]  # type: ignore[index]
    if partial:
        last["end" if strand == "+" else "start"] += -partial if strand == "+" else partial
    alternative = retrieve_entry(parse_job([entry]).seq_regions[0]).sequences[1]
    return {**alternative.info, "protein": alternative.protein}


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize(
    ("name", "index", "ref", "alt", "partial", "consequence", "hgvs_p", "protein"),
    [
        # issue 28: the stop codon's bases untouched: a frameshift, not stop_lost (VEP)
        # CAG TAA CTA GCT AG -> CTA GTA ACT AGC TAG: Leu Val Thr Ser Ter
        ("1-base insertion in the last sense codon", 97, "", "T", 0, ["frameshift_variant"], "p.Gln33LeufsTer5", None),
        # CAG TAA CTA G -> CGT AAC TAG: Arg Asn Ter
        ("1-base deletion in the last sense codon", 97, "A", "", 0, ["frameshift_variant"], "p.Gln33ArgfsTer3", None),
        # issue 28: a CDS without its stop codon (3 bases cut): read to its mapped end
        (
            "partial CDS, 1-base deletion in the last codon",
            97,
            "A",
            "",
            3,
            ["frameshift_variant"],
            "p.Gln33fs",
            (1, ""),
        ),
        # the CDS's last codon CAG -> CTAG: Leu, then its mapped end
        (
            "partial CDS, insertion in the last codon",
            97,
            "",
            "T",
            3,
            ["frameshift_variant"],
            "p.Gln33LeufsTer?",
            (1, "L"),
        ),
        # the CDS ends 2 bases into the stop codon (a trailing partial codon TA): TCA, a residue whose
        # reference is not known (HGVS: p.?)
        ("partial CDS, insertion in the partial codon", 100, "", "C", 1, ["frameshift_variant"], "p.?", (0, "S")),
    ],
)
def test_frameshifts_at_the_end_of_the_cds(
    tmp_path: Path, strand: str, name: str, index: int, ref: str, alt: str, partial: int,
    consequence: list[str], hgvs_p: str, protein: tuple[int, str] | None,
) -> None:  # fmt: skip
    gene = STOPS_IN_EVERY_FRAME.on_strand(strand)
    info = run_design(tmp_path, STOPS_IN_EVERY_FRAME, strand, [gene.variant("v", index, ref, alt)], partial)
    assert "error" not in info, info
    (embedded,) = info["embedded_variants"]
    assert (embedded["consequence"], embedded["hgvs_p"]) == (consequence, hgvs_p)
    if protein is not None:  # a 3'-partial CDS's protein: to its mapped end, in whole codons
        cut, added = protein
        reference = STOPS_IN_EVERY_FRAME.protein
        assert info["protein"] == reference[: len(reference) - cut] + added


@pytest.mark.parametrize("strand", ["+", "-"])
def test_a_frameshift_counts_to_its_new_stop(tmp_path: Path, strand: str) -> None:
    """The expected description from Biopython's translation of the edited coding DNA."""
    coding = DESIGN.coding + DESIGN.utr3
    edited = coding[:31] + coding[32:]  # the first base of codon 11 (Gln, CAG) deleted
    alt_protein = str(Seq(edited[: len(edited) // 3 * 3]).translate())
    first = next(i for i, (a, b) in enumerate(zip(DESIGN.protein, alt_protein, strict=False)) if a != b)
    new_stop = alt_protein.index("*")
    expected = f"p.{seq3(DESIGN.protein[first])}{first + 1}{seq3(alt_protein[first])}fsTer{new_stop - first + 1}"
    info = run(tmp_path, strand, [DESIGN.on_strand(strand).variant("fs", 30, coding[30], "")])
    (embedded,) = info["embedded_variants"]
    assert (embedded["consequence"], embedded["hgvs_p"]) == (["frameshift_variant"], expected)
    assert info["hgvs_p"] == expected and parses(expected)


def test_an_allele_of_several_changes_is_described_whole(tmp_path: Path) -> None:
    gene = DESIGN.on_strand("+")
    apart = [gene.variant("a", 12, "TAC", "TGC"), gene.variant("b", 69, "GAA", "")]
    assert run(tmp_path / "apart", "+", apart)["hgvs_p"] == "p.[Tyr5Cys;Glu25del]"
    one_codon = [gene.variant("c", 12, "T", "G"), gene.variant("d", 14, "C", "G")]  # TAC -> GAG: Tyr5Glu
    info = run(tmp_path / "one", "+", one_codon)
    assert [v["hgvs_p"] for v in info["embedded_variants"]] == ["p.Tyr5Asp", "p.Tyr5Ter"]
    assert info["hgvs_p"] == "p.Tyr5Glu"
    # a missense, then a nonsense: the protein ends at the new stop
    cut = [gene.variant("e", 12, "TAC", "TGC"), gene.variant("f", 15, "ATT", "TAA")]
    assert run(tmp_path / "cut", "+", cut)["hgvs_p"] == "p.[Tyr5Cys;Ile6Ter]"
    assert parses("p.[Tyr5Cys;Ile6Ter]".replace("[", "").replace("]", "").split(";")[0])


def oracle(ref: str, alt: str, start: int, frameshift: bool) -> str:
    """biocommons hgvs's own protein-change builder on two protein sequences."""
    ref_data = SimpleNamespace(protein_accession="NP_0.1", aa_sequence=ref, transcript_sequence="")
    alt_data = SimpleNamespace(
        aa_sequence=alt,
        is_frameshift=frameshift,
        frameshift_start=start + 1,
        is_substitution=len(ref) == len(alt),
        is_ambiguous=False,
        variant_start_aa=start + 1,
        transcript_sequence="",
    )
    variant = AltSeqToHgvsp(ref_data, alt_data).build_hgvsp()
    posedit = variant.posedit
    posedit.uncertain = False
    return "p." + posedit.format(conf={"p_3_letter": True, "p_term_asterisk": False})


PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ*"


@pytest.mark.parametrize(
    ("alt", "start", "frameshift"),
    [
        (PROTEIN.replace("Y", "C"), 4, False),
        (PROTEIN[:5] + "*", 5, False),
        (PROTEIN[:7] + PROTEIN[8:], 7, False),
        (PROTEIN[:24] + "E" + PROTEIN[24:], 24, False),
        (PROTEIN[:3] + "W" + PROTEIN[3:], 3, False),
        (PROTEIN[:27] + "WV" + PROTEIN[28:], 27, False),
        (PROTEIN[:10] + "RPLM*", 10, True),
        (PROTEIN[:-1] + "QPG*", 33, False),
    ],
)
def test_the_same_description_as_hgvs_builds(alt: str, start: int, frameshift: bool) -> None:
    ours = describe(PROTEIN, alt, 0, frameshift).hgvs_p
    assert ours == oracle(PROTEIN, alt, start, frameshift)


def test_every_conformance_variant_is_described_in_words_hgvs_reads() -> None:
    """The 49 vectors: each embedded variant of a made protein has SO terms and a description
    the hgvs parser accepts; docs/consequences.md is this very table."""
    rows = consequence_rows()
    assert len({row[0] for row in rows}) == 49
    described = [row for row in rows if row[3] not in ("", "-")]
    assert len(described) > 30
    for _, _, consequence, hgvs_p, allele in rows:
        assert set(filter(None, consequence.split(","))) - {"-"} <= SO_TERMS
        for text in (hgvs_p, allele):
            if text not in ("", "-"):
                for part in text.removeprefix("p.").strip("[]").split(";"):
                    assert parses(part), text
    assert consequence_table(rows) == (REPO / "docs" / "consequences.md").read_text()
