"""Running one designed gene with variants through the retrieval, for the variant tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pavi.domain.request import parse_job
from pavi.domain.retrieval import EntryResult, retrieve_entry
from support.genomes import GeneDesign, write_fasta


def codon_index(residue: int) -> int:
    """0-based coding index of the first base of a 1-based residue."""
    return (residue - 1) * 3


def run(tmp_path: Path, strand: str, variants: list[dict[str, Any]], design: GeneDesign | None = None) -> EntryResult:
    design = design or GeneDesign()
    gene = design.on_strand(strand)
    url = str(write_fasta(tmp_path, {design.seq_id: gene.genome}))
    entry = gene.entry(url, variants=variants, alt_seq_name_suffix="_mut")
    result = retrieve_entry(parse_job([entry]).seq_regions[0])
    assert result.reference.protein == design.protein
    assert [s.name for s in result.sequences] == [entry["base_seq_name"] + "_ref", entry["base_seq_name"] + "_mut"]
    return result


def alt(result: EntryResult) -> tuple[str | None, dict[str, Any]]:
    return result.sequences[1].protein, result.sequences[1].info


def only_variant(info: dict[str, Any]) -> dict[str, Any]:
    assert len(info["embedded_variants"]) == 1, info
    variant: dict[str, Any] = info["embedded_variants"][0]
    return variant
