"""Transcripts, CDS, phases, translation and the ORF fallback (SPEC section 2).

The 51 conformance cases check against real proteins; the designed genes of
``support.genomes`` check each rule with proteins known before the code runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.genomes import GeneDesign, encode, write_fasta

from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry
from pavi.domain.transcripts import longest_orf, translate


def test_all_51_conformance_cases_give_their_expected_protein(
    genbank_payload: list[dict[str, Any]], genbank_expected: dict[str, str]
) -> None:
    job = parse_job(genbank_payload)
    assert len(job.seq_regions) == 51
    wrong = {}
    for entry in job.seq_regions:
        result = retrieve_entry(entry)
        if result.reference.protein != genbank_expected[entry.unique_entry_id]:
            wrong[entry.unique_entry_id] = result.reference.info or result.reference.protein
    assert wrong == {}


def retrieve(tmp_path: Path, design: GeneDesign, strand: str, **extra: Any) -> Any:
    gene = design.on_strand(strand)
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    spelling = extra.pop("spelling", "dict")
    entry = parse_job([gene.entry(url, spelling=spelling, **extra)]).seq_regions[0]
    return retrieve_entry(entry)


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize("spelling", ["dict", "string", "reversed"])
def test_designed_gene_on_both_strands_all_spellings(tmp_path: Path, strand: str, spelling: str) -> None:
    design = GeneDesign()
    result = retrieve(tmp_path, design, strand, spelling=spelling)
    assert result.reference.protein == design.protein
    assert result.reference.info == {}


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize("phase", [0, 1, 2])
def test_phase_of_the_first_cds_region(tmp_path: Path, strand: str, phase: int) -> None:
    """A 5'-partial CDS: ``phase`` extra bases before the first whole codon are skipped."""
    design = GeneDesign(protein="KTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", utr5="CCGCC"[: 5 - phase] + "AG"[:phase])
    gene = design.on_strand(strand)
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    raw = gene.entry(url)
    first = 0 if strand == "+" else -1
    cds: list[dict[str, int]] = raw["cds_seq_regions"]  # type: ignore[assignment]
    cds_sorted = sorted(cds, key=lambda r: r["start"])
    five_prime = cds_sorted[first]
    if strand == "+":
        five_prime["start"] -= phase
    else:
        five_prime["end"] += phase
    five_prime["frame"] = phase
    # the other regions' frames do not matter: only the 5'-most region's phase is read
    for region in cds_sorted:
        if region is not five_prime:
            region["frame"] = 2
    result = retrieve_entry(parse_job([raw]).seq_regions[0])
    assert result.reference.protein == design.protein


@pytest.mark.parametrize("strand", ["+", "-"])
def test_utrs_are_not_translated(tmp_path: Path, strand: str) -> None:
    design = GeneDesign(utr5="ATGCCCCCCCCC", utr3="TAGCCCCCC")  # an upstream ATG in the 5' UTR
    assert retrieve(tmp_path, design, strand).reference.protein == design.protein


@pytest.mark.parametrize("strand", ["+", "-"])
def test_no_cds_uses_the_longest_orf(tmp_path: Path, strand: str) -> None:
    design = GeneDesign(utr5="CCATGCCCTGACC")  # a short ORF (MP) in another frame of the 5' UTR
    result = retrieve(tmp_path, design, strand, cds_seq_regions=[])
    assert result.reference.protein == design.protein


def test_no_orf_is_an_error_of_the_entry(tmp_path: Path) -> None:
    design = GeneDesign(protein="KTAYIAKQ", utr5="CCC")
    result = retrieve(tmp_path, design, "+", cds_seq_regions=[])
    assert result.reference.protein is None
    assert result.reference.info == {"error": "No open reading frames found"}


def test_soft_masked_bases_count_like_upper_case(tmp_path: Path) -> None:
    design = GeneDesign()
    gene = design.on_strand("+")
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome.lower()}))
    result = retrieve_entry(parse_job([gene.entry(url)]).seq_regions[0])
    assert result.reference.protein == design.protein


def test_unknown_sequence_and_region_past_end_are_entry_errors(tmp_path: Path) -> None:
    design = GeneDesign()
    gene = design.on_strand("+")
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    unknown = retrieve_entry(parse_job([{**gene.entry(url), "seq_id": "chrNope"}]).seq_regions[0])
    assert "'chrNope' is not in the FASTA" in unknown.reference.info["error"]
    length = len(gene.genome)
    past = {**gene.entry(url), "exon_seq_regions": [f"{length - 5}..{length + 10}"], "cds_seq_regions": []}
    result = retrieve_entry(parse_job([past]).seq_regions[0])
    assert result.reference.info["error"] == (
        f"region {length - 5}..{length + 10} is past the end of sequence 'chrT' (length {length})"
    )


def test_translate_rules() -> None:
    assert translate(encode("MKT") + "TAA" + encode("WW")) == "MKT"
    assert translate(encode("MKT") + "GC") == "MKT"  # trailing partial codon dropped
    assert translate("ATGNNNAAA") == "MXK"
    assert translate("TAG") == ""


def test_longest_orf_prefers_longest_then_five_prime() -> None:
    seq = "CC" + "ATG" + "AAA" + "TAA" + "G" + "ATG" + "CCC" * 3 + "TGA"
    start, end = longest_orf(seq)
    assert seq[start:end] == "ATG" + "CCC" * 3 + "TGA"
    tie = "ATGAAATAA" + "ATGCCCTAG"
    assert longest_orf(tie) == (0, 9)


# -- issue 28, item 6: CDS regions as strings (the POC README's own example), frames computed


def as_strings(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with its CDS regions written as the POC README writes them: 'start..end', no frame."""
    regions = [r if isinstance(r, str) else f"{r['start']}..{r['end']}" for r in entry["cds_seq_regions"]]
    return {**entry, "cds_seq_regions": regions}


@pytest.mark.parametrize("strand", ["+", "-"])
def test_string_cds_regions_get_their_frames_computed(tmp_path: Path, strand: str) -> None:
    design = GeneDesign()
    gene = design.on_strand(strand)
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    result = retrieve_entry(parse_job([as_strings(gene.entry(url))]).seq_regions[0])
    assert result.reference.protein == design.protein
    # GFF3's phases by hand: CDS parts of 31, 31 and 40 bases (the design's cuts at 31 and 62)
    assert [b - a + 1 for a, b in design.cds] == [31, 31, 40]
    assert result.reference.info == {"cds_phases_computed": [0, 2, 1]}


def test_string_cds_regions_whose_frames_do_not_follow_are_refused(tmp_path: Path) -> None:
    design = GeneDesign()
    gene = design.on_strand("+")
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    entry = gene.entry(url)
    shifted = [dict(r) for r in entry["cds_seq_regions"]]
    shifted[0]["start"] += 1  # the CDS now starts at the T of ATG
    result = retrieve_entry(parse_job([as_strings({**entry, "cds_seq_regions": shifted})]).seq_regions[0])
    assert result.reference.protein is None
    assert result.reference.info["error"] == (
        "the CDS regions are written as 'start..end' strings, which carry no frame, and their frames cannot be "
        "computed (it starts with TGA, not ATG): give each CDS region as {'start', 'end', 'frame'}"
    )


def test_the_conformance_transcripts_with_string_cds_regions(
    genbank_payload: list[dict[str, Any]], genbank_expected: dict[str, str]
) -> None:
    """Every conformance transcript written with string CDS regions: the 50 that start with a start
    codon at phase 0 give their expected protein; the 5'-partial one (phase 1) is refused, saying why."""
    job = parse_job([as_strings(entry) for entry in genbank_payload])
    refused = {}
    for entry in job.seq_regions:
        result = retrieve_entry(entry)
        if result.reference.protein is None:
            refused[entry.unique_entry_id] = result.reference.info["error"]
        else:
            assert result.reference.protein == genbank_expected[entry.unique_entry_id], entry.unique_entry_id
    partial = [e["unique_entry_id"] for e in genbank_payload if e["cds_seq_regions"][0].get("frame", 0) != 0]
    assert list(refused) == partial and "not ATG" in next(iter(refused.values())), refused
