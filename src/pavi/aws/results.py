"""What the collection writes beside the alignment and its seq-info (issue 21): the
alignment's other forms and the tables a researcher reads (``pavi.domain.alignment_outputs``),
and the provenance of the job's results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from pavi.aws.job_store import ALIGNMENT_FORMATS, EXTRA_RESULTS, MEDIA_TYPES, STORE_WRITERS, TEXT, JobPaths, read_json
from pavi.domain import storage
from pavi.domain.limits import MAX_MATRIX_SEQUENCES, MAX_VARIANT_TABLE_ROWS


def provenance(paths: JobPaths, prepared: dict[str, Any], state: dict[str, Any] | None = None) -> dict[str, Any]:
    """What produced a job's results, so that they can be traced and reproduced: this package's
    version, Biopython's, the aligner's name, version and exact command line (the alignment's own
    account) and why it aligned the job (the validation's choice in ``state``), the Batch task it
    ran in when it did (vCPUs, memory, the model's figures and why), the lane of each step, and
    each genome's URL with the identity of every file read."""
    import Bio

    import pavi

    try:
        alignment = read_json(paths.alignment_run)
    except FileNotFoundError:
        alignment = {"clustal_omega": "unknown (the alignment wrote no account)"}
    state = state or {}
    if state.get("aligner_reason"):
        alignment["aligner_chosen_because"] = state["aligner_reason"]
    if (prepared.get("lanes") or {}).get("alignment") == "batch" and state.get("alignment_resources"):
        alignment["task"] = state["alignment_resources"]  # the job's Fargate task (issue 29, item 5)
    return {
        "pavi": pavi.__version__,
        "biopython": Bio.__version__,
        "alignment": alignment,
        "lanes": prepared.get("lanes"),
        "genomes": prepared.get("genomes", {}),
    }


def write_views(
    paths: JobPaths, clustal: str, seqinfo: dict[str, Any], info: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The alignment's other forms and the tables a researcher reads (issue 21), from one parse
    of the Clustal file, written concurrently beside it. Returns the results not written, with
    why (a matrix or a table too large for the collection's memory: a 10,000-entry job's matrix
    would be 400 million values, bounded by :mod:`pavi.domain.limits`), and the names the PHYLIP
    file writes instead of those it cannot carry (issue 28, item 4)."""
    from pavi.domain.alignment_outputs import (
        ParsedAlignment,
        formats,
        identity_matrix_tsv,
        phylip_names,
        variant_rows,
        variant_table_json,
        variant_table_tsv,
    )

    parsed = ParsedAlignment.from_clustal(clustal)
    texts = {ALIGNMENT_FORMATS[fmt][0]: text for fmt, text in formats(parsed, clustal).items() if fmt != "clustal"}
    skipped: dict[str, str] = {}
    if len(parsed.names) <= MAX_MATRIX_SEQUENCES:
        texts[EXTRA_RESULTS["identity_matrix"]] = identity_matrix_tsv(parsed)
    else:
        skipped["identity_matrix"] = f"{len(parsed.names):,} sequences: at most {MAX_MATRIX_SEQUENCES:,}"
    variants = sum(len(i.get("embedded_variants", [])) for i in info.values())
    if variants * len(parsed.names) <= MAX_VARIANT_TABLE_ROWS:
        rows = variant_rows(parsed, seqinfo, info)
        texts[EXTRA_RESULTS["variant_columns"]] = variant_table_tsv(rows)
        texts[EXTRA_RESULTS["variant_columns_json"]] = variant_table_json(rows)
    else:
        why = f"{variants:,} variants x {len(parsed.names):,} sequences: at most {MAX_VARIANT_TABLE_ROWS:,} rows"
        skipped.update(variant_columns=why, variant_columns_json=why)
    with ThreadPoolExecutor(STORE_WRITERS) as pool:
        writes = [
            pool.submit(storage.write_text, paths.result(name), text, MEDIA_TYPES.get(PurePosixPath(name).suffix, TEXT))
            for name, text in texts.items()
        ]
        for write in writes:
            write.result()
    return skipped, phylip_names(parsed.names)


def summary(report: dict[str, Any], clustal: str, inline_bytes: int) -> dict[str, Any]:
    """What the Express workflow answers beside the status, counts and lanes: every result's
    location, and the Clustal text when it is at most ``inline_bytes`` (Express's output is
    capped at 256 KB; a larger alignment is read from ``results.alignment``)."""
    size = len(clustal.encode())
    answer: dict[str, Any] = {"result_files": report["results"]}
    if size <= inline_bytes:
        answer["alignment_clustal"] = clustal
    else:
        answer["alignment_clustal_omitted"] = f"{size} bytes: more than the {inline_bytes} an answer carries"
    return answer
