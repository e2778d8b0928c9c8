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


REPO = Path(__file__).resolve().parents[2]
VARIANT_VECTORS = REPO.parent / "shared" / "conformance" / "variants"


def consequence_rows() -> list[tuple[str, str, str, str, str]]:
    """(case, variant, consequence, hgvs_p, the alternative protein's hgvs_p) for each embedded
    variant of the 49 conformance cases; ``-`` where the case has an error instead (its reason
    in the variant column)."""
    import json

    from pavi.domain.url_policy import UrlPolicy

    text = (VARIANT_VECTORS / "variants_payload.json").read_text()
    payload = json.loads(text.replace("file://ORACLE_DIR/", f"file://{VARIANT_VECTORS.parent}/"))
    rows = []
    for entry in parse_job(payload).seq_regions:
        alternative = retrieve_entry(entry, UrlPolicy(None)).sequences[1]
        if "error" in alternative.info:
            reason = alternative.info["error"].split(";")[0][:110]
            rows.append((entry.unique_entry_id, f"error: {reason}", "-", "-", "-"))
            continue
        if not alternative.info["embedded_variants"]:
            rows.append((entry.unique_entry_id, "(none in the protein)", "", "", alternative.info["hgvs_p"]))
        for variant in alternative.info["embedded_variants"]:
            rows.append(
                (
                    entry.unique_entry_id,
                    variant["variant_id"],
                    ",".join(variant["consequence"]),
                    variant["hgvs_p"] or "",
                    alternative.info["hgvs_p"],
                )
            )
    return rows


def consequence_table(rows: list[tuple[str, str, str, str, str]]) -> str:
    """docs/consequences.md: the rows as a Markdown table, with how it is made."""
    lines = [
        "# The 49 conformance variant cases: consequence and HGVS p.",
        "",
        "What the pipeline writes for each embedded variant of `../shared/conformance/variants/`",
        "(`consequence`, `hgvs_p`) and for the alternative protein as a whole (`hgvs_p` beside",
        "`embedded_variants`). Cases whose alternative protein is not made keep their error and get",
        "no description. Written by `.venv/bin/python scripts/consequence_table.py`; checked (equal",
        "to a fresh run, every description parsed by biocommons `hgvs`) by",
        "`tests/unit/test_consequence.py`.",
        "",
        "| case | variant | consequence | hgvs_p | alternative protein |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in rows]
    return "\n".join(lines) + "\n"
