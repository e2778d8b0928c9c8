"""Issue 30: a job from a genome FASTA, a GFF3/GTF annotation and a VCF, checked against known
answers: the conformance transcripts' proteins (expected.json, checked three ways by its makers),
the same transcripts written as GTF by gffread, and the 49 variant cases written as a VCF here
from the hand-written payload (whose proteins and positions the previous PAVI's vectors hold)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pysam
import pytest

from pavi.domain.annotation import AnnotationError, select_transcripts
from pavi.domain.genome import IndexedFasta
from pavi.domain.job_builder import build_job
from pavi.domain.request import parse_job
from pavi.domain.retrieval import entry_files, retrieve_entry


@pytest.fixture(scope="module")
def genbank(conformance: Path) -> Path:
    return conformance / "genbank"


@pytest.fixture(scope="module")
def genome(genbank: Path) -> tuple[IndexedFasta, str]:
    url = str(genbank / "genome.fa.gz")
    return IndexedFasta(url), url


def proteins_of(entries: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for entry in parse_job(entries).seq_regions:
        result = retrieve_entry(entry)
        assert not result.reference_failed, result.reference.info
        out[entry.unique_entry_id] = result.reference.protein or ""
    return out


def test_the_51_transcripts_from_gff3_give_the_expected_proteins(
    genbank: Path, genome: tuple[IndexedFasta, str], genbank_payload: list[dict[str, Any]]
) -> None:
    """Both strands, every CDS phase (0, 1, 2), UTRs, the 5'-partial CDS: each protein equals
    expected.json, and each entry's regions and frames equal the hand-written payload's."""
    expected = json.loads((genbank / "expected.json").read_text())
    built = build_job(genome[0], genome[1], str(genbank / "transcripts.gff3"), list(expected))
    assert [e["unique_entry_id"] for e in built.entries] == list(expected)
    assert proteins_of(built.entries) == expected
    by_hand = {e["unique_entry_id"]: parse_job([e]).seq_regions[0] for e in genbank_payload}
    for entry in parse_job(built.entries).seq_regions:
        theirs = by_hand[entry.unique_entry_id]
        assert (entry.seq_id, entry.seq_strand) == (theirs.seq_id, theirs.seq_strand)
        spans = [sorted((r.start, r.end) for r in e.exon_seq_regions) for e in (entry, theirs)]
        assert spans[0] == spans[1], entry.unique_entry_id
        coding = [sorted((r.start, r.end, r.frame) for r in e.cds_seq_regions) for e in (entry, theirs)]
        assert coding[0] == coding[1], entry.unique_entry_id


@pytest.mark.skipif(shutil.which("gffread") is None, reason="gffread (Debian's) writes the GTF")
def test_the_same_transcripts_as_gtf_give_the_same_request(
    genbank: Path, genome: tuple[IndexedFasta, str], tmp_path: Path
) -> None:
    expected = json.loads((genbank / "expected.json").read_text())
    gtf = tmp_path / "transcripts.gtf"
    subprocess.run(["gffread", str(genbank / "transcripts.gff3"), "-T", "-o", str(gtf)], check=True)
    from_gff3 = build_job(genome[0], genome[1], str(genbank / "transcripts.gff3"), list(expected)).entries
    from_gtf = build_job(genome[0], genome[1], str(gtf), list(expected)).entries
    # gffread's GTF keeps no Name: the sequence name is the transcript ID there
    assert [{**e, "base_seq_name": ""} for e in from_gtf] == [{**e, "base_seq_name": ""} for e in from_gff3]
    assert proteins_of(from_gtf) == expected


def vcf_of(payload: list[dict[str, Any]], fasta: pysam.FastaFile, path: Path, skip: set[str]) -> Path:
    """The payload's inline variants as VCF records (an indel gets VCF's shared leading base)."""
    records = {}
    for entry in payload:
        for v in entry["variants"]:
            if v["variant_id"] in skip:
                continue
            seq, start, ref, alt = v["seq_id"], int(v["start"]), v["ref"], v["alt"]
            if not alt:  # a deletion: the base before it leads
                lead = fasta.fetch(seq, start - 2, start - 1)
                position, ref, alt = start - 1, lead + ref, lead
            elif not ref:  # an insertion between start and end: start's base leads
                lead = fasta.fetch(seq, start - 1, start)
                position, ref, alt = start, lead, lead + alt
            else:
                position = start
            records[(seq, position, v["variant_id"])] = (
                f"{seq}\t{position}\t{v['variant_id']}\t{ref}\t{alt}\t.\tPASS\t."
            )
    header = ["##fileformat=VCFv4.2"] + [
        f"##contig=<ID={name},length={fasta.get_reference_length(name)}>" for name in fasta.references
    ]
    plain = path.with_suffix("")
    plain.write_text("\n".join([*header, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO", *(
        records[key] for key in sorted(records, key=lambda k: (fasta.references.index(k[0]), k[1]))
    )]) + "\n")  # fmt: skip
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def test_variants_from_a_vcf_give_the_payloads_proteins_and_positions(
    conformance: Path, genome: tuple[IndexedFasta, str], tmp_path: Path
) -> None:
    """The 49 cases' variants as one VCF, grouped by case (``set:``): each alternative protein,
    error and embedded position equals what the hand-written payload gives. The two cases whose
    REF is deliberately wrong are refused, with the genome's bases."""
    genbank = conformance / "genbank"
    text = (conformance / "variants" / "variants_payload.json").read_text()
    payload = json.loads(text.replace("ORACLE_DIR", str(conformance)))
    mismatched = {v["variant_id"] for e in payload if "ref_mismatch" in e["unique_entry_id"] for v in e["variants"]}
    with pysam.FastaFile(str(genbank / "genome.fa.gz")) as fasta:
        vcf = vcf_of(payload, fasta, tmp_path / "cases.vcf.gz", set())
    cases = [e for e in payload if not {v["variant_id"] for v in e["variants"]} & mismatched]
    sets = {e["unique_entry_id"].split("__")[1]: [v["variant_id"] for v in e["variants"]] for e in cases}
    transcripts = sorted({e["unique_entry_id"].split("__")[0] for e in cases})
    built = build_job(
        genome[0], genome[1], str(genbank / "transcripts.gff3"), transcripts, str(vcf), "set:x", sets=sets
    )
    refused = [note for note in built.notes if note.startswith("refused:")]
    assert len(refused) == len(mismatched) and all("disagrees with the genome's" in n for n in refused), refused
    # an entry a case and a transcript its variants touch (isoforms of one gene share them)
    made = {
        (e["unique_entry_id"].split("__")[0], e["alt_seq_name_suffix"][1:]): e for e in built.entries if "variants" in e
    }
    assert {case for _, case in made} == set(sets)
    for case in cases:
        transcript, name = case["unique_entry_id"].split("__")
        ours = retrieve_entry(parse_job([{**made[transcript, name], "alt_seq_name_suffix": case["alt_seq_name_suffix"],
                                          "base_seq_name": case["base_seq_name"]}]).seq_regions[0])  # fmt: skip
        theirs = retrieve_entry(parse_job([case]).seq_regions[0])
        assert [s.protein for s in ours.sequences] == [s.protein for s in theirs.sequences], name
        ours_info = json.loads(entry_files(ours)[f"{ours.entry_id}-seqinfo.json"])
        theirs_info = json.loads(entry_files(theirs)[f"{theirs.entry_id}-seqinfo.json"])
        assert ours_info == theirs_info, name


def test_what_cannot_be_built_is_refused_with_its_reason(genbank: Path, genome: tuple[IndexedFasta, str]) -> None:
    gff3 = str(genbank / "transcripts.gff3")
    with pytest.raises(AnnotationError, match=r"'AC007323_T25K16\.99' is not a transcript ID.*closest names there: "):
        build_job(genome[0], genome[1], gff3, ["AC007323_T25K16.99"])
    assert select_transcripts(gff3, ["HLA00001_HLA_A"]).transcripts  # and a known one is found


def test_sequence_names_that_differ_are_named_with_the_mapping_to_use(
    genbank: Path, genome: tuple[IndexedFasta, str], tmp_path: Path
) -> None:
    gff3 = tmp_path / "chr.gff3"
    gff3.write_text("".join("chr" + line if line[0] != "#" else line for line in (genbank / "transcripts.gff3").open()))
    with pytest.raises(
        AnnotationError, match=r"chrAB000050 \(the FASTA has AB000050: --seq-map chrAB000050=AB000050\)"
    ):
        build_job(genome[0], genome[1], str(gff3), ["AB000050_capsid_protein_2_BAA19011.1"])
    built = build_job(genome[0], genome[1], str(gff3), ["AB000050_capsid_protein_2_BAA19011.1"], auto_names=True)
    assert built.entries[0]["seq_id"] == "AB000050"
