"""One entry's proteins and sequence info (SPEC sections 2 to 4).

:func:`retrieve_entry` never raises for a problem of the entry's data: it records the
error in the result (``{"error": ...}`` in the seqinfo) so that one bad entry neither
stops the others nor crashes the step. :func:`write_entry` writes the two per-entry
files; only a storage failure raises there (and the Batch job is retried). A share of a job's
entries (a retrieval child's, or the Lambda lane's job) writes the same files held in one
(``{first entry}.share.json``: a JSON object of file name to text), so that its 100 entries cost
one S3 request, not 200, and the preparation reads one file a share.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from pavi.domain import storage
from pavi.domain.errors import PaviError, UnalignableSequence, VariantError
from pavi.domain.genome import IndexedFasta, new_job, open_fasta, opened_identities
from pavi.domain.request import Entry
from pavi.domain.transcripts import Transcript, check_protein, coding_frame, reference_protein
from pavi.domain.url_policy import UrlPolicy
from pavi.domain.variant_api import VariantApiClient, resolve_variants
from pavi.domain.variants import alternative_protein

logger = logging.getLogger(__name__)

FASTA_LINE_WIDTH = 60
GENOMES_SUFFIX = ".genomes.json"  # beside the entries' files: the genome files a share read, by URL
SHARE_SUFFIX = ".share.json"  # a share's files in one: {file name: text}
EXCLUDED = "excluded_from_alignment"  # seqinfo key: made, but cannot be aligned (all X); the job goes on


@dataclass
class NamedSequence:
    """One output sequence: its protein (None when it failed) and its seqinfo entry."""

    name: str
    protein: str | None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class EntryResult:
    """The reference (and alternative) protein of one entry."""

    entry_id: str
    sequences: list[NamedSequence]

    @property
    def reference(self) -> NamedSequence:
        return self.sequences[0]

    @property
    def reference_failed(self) -> bool:
        return self.reference.protein is None

    def protein_fasta(self) -> str:
        records = []
        for seq in self.sequences:
            if seq.protein is None:
                continue
            lines = [seq.protein[i : i + FASTA_LINE_WIDTH] for i in range(0, len(seq.protein), FASTA_LINE_WIDTH)]
            records.append(f">{seq.name}\n" + "\n".join(lines) + "\n")
        return "".join(records)

    def seqinfo(self) -> dict[str, dict[str, Any]]:
        return {seq.name: seq.info for seq in self.sequences}


def _message(error: Exception) -> str:
    if isinstance(error, PaviError):
        return str(error)
    return f"internal error ({type(error).__name__}: {error})"


def retrieve_entry(
    entry: Entry,
    policy: UrlPolicy | None = None,
    variant_client: VariantApiClient | None = None,
    opener: Callable[[str, UrlPolicy | None], IndexedFasta] = open_fasta,
) -> EntryResult:
    """Build the entry's reference protein and, when it has variants, its alternative protein."""
    names = entry.output_names()
    reference = NamedSequence(names[0], None)
    result = EntryResult(entry.unique_entry_id, [reference])
    alternative = NamedSequence(names[1], None) if len(names) > 1 else None
    if alternative:
        result.sequences.append(alternative)
    try:
        fasta = opener(entry.fasta_file_url, policy)
        transcript = Transcript.build(entry, fasta.fetch)
        frame = coding_frame(entry, transcript)
        reference.protein = reference_protein(transcript, frame)
        if frame.computed_phases is not None:  # string CDS regions: the report says so (issue 28, item 6)
            reference.info["cds_phases_computed"] = list(frame.computed_phases)
    except Exception as error:
        if not isinstance(error, PaviError):
            logger.exception("entry %s: unexpected error", entry.unique_entry_id)
        reference.info = {"error": _message(error)}
        if isinstance(error, UnalignableSequence):
            reference.info[EXCLUDED] = True
        if alternative:
            alternative.info = {"error": f"not built: the reference sequence failed ({_message(error)})"}
        return result
    if alternative:
        try:
            variants = resolve_variants(entry, variant_client)
            alt = alternative_protein(transcript, frame, variants, fasta.fetch)
            check_protein(alt.protein)
            alternative.protein = alt.protein
            alternative.info = {"embedded_variants": alt.embedded_variants, "hgvs_p": alt.hgvs_p}
            if alt.not_in_protein:  # every variant of the request accounted for (issue 28, item 5)
                alternative.info["variants_not_in_protein"] = alt.not_in_protein
        except Exception as error:
            if not isinstance(error, PaviError):
                logger.exception("entry %s: unexpected error in its variants", entry.unique_entry_id)
            alternative.info = {"error": _message(error)}
            if isinstance(error, VariantError) and error.consequence:  # what the variant does, in SO terms
                alternative.info["consequence"] = error.consequence
                if error.hgvs_p:
                    alternative.info["hgvs_p"] = error.hgvs_p
            if isinstance(error, UnalignableSequence):
                alternative.info[EXCLUDED] = True
    return result


def protein_file_name(entry_id: str) -> str:
    return f"{entry_id}-protein.fa"


def seqinfo_file_name(entry_id: str) -> str:
    return f"{entry_id}-seqinfo.json"


def entry_files(result: EntryResult) -> dict[str, str]:
    """An entry's two files: ``{id}-protein.fa`` and ``{id}-seqinfo.json``, by name."""
    return {
        protein_file_name(result.entry_id): result.protein_fasta(),
        seqinfo_file_name(result.entry_id): json.dumps(result.seqinfo(), indent=1) + "\n",
    }


def write_entry(result: EntryResult, out: str) -> None:
    """Write ``{id}-protein.fa`` and ``{id}-seqinfo.json`` into the folder or S3 prefix ``out``.

    The seqinfo is written last: its presence marks the entry as done.
    """
    for name, text in entry_files(result).items():
        kind = "application/json" if name.endswith(".json") else "text/plain; charset=utf-8"
        storage.write_text(storage.join(out, name), text, kind)


def unpack_share(text: str) -> dict[str, str]:
    """The files a share holds (:data:`SHARE_SUFFIX`), by name."""
    files = json.loads(text)
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ValueError("a share file is a JSON object of file name to text")
    for name in files:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"a share file names {name!r}: not a plain file name")
    return files


def retrieve_all(
    entries: list[Entry], out: str, workers: int, say: Callable[[str], None] | None = None, one_file: bool = False
) -> list[EntryResult]:
    """Retrieve and write every entry, ``workers`` at a time, in one process (a retrieval
    child's share, or a whole job in the Lambda lane); results in the entries' order.
    ``say`` gets a line per entry as it ends. ``one_file``: the share's files are written in one
    at the end (:data:`SHARE_SUFFIX`), else each entry's as it ends."""
    policy = UrlPolicy.from_env()
    results: dict[str, EntryResult] = {}
    variant_client = VariantApiClient()  # the job's: each variant ID looked up once, a few at a time
    new_job()  # a genome opened by an earlier job is used only while its files are the same

    def work(entry: Entry) -> EntryResult:
        result = retrieve_entry(entry, policy, variant_client)
        if not one_file:
            write_entry(result, out)
        return result

    with variant_client, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(work, entry): entry for entry in entries}
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            results[result.entry_id] = result
            if say:
                status = "ok" if not result.reference_failed else f"FAILED: {result.reference.info['error']}"
                alt_errors = [s for s in result.sequences[1:] if "error" in s.info]
                if alt_errors and not result.reference_failed:
                    status += f" (alternative: {alt_errors[0].info['error']})"
                say(f"[{done}/{len(entries)}] {result.entry_id}: {status}")
    if not entries:
        return []
    # what was read, for the job's provenance: one file per share of entries
    genomes = {url: opened_identities(url, policy) for url in sorted({e.fasta_file_url for e in entries})}
    read = {url: files for url, files in genomes.items() if files is not None}
    files = {entries[0].unique_entry_id + GENOMES_SUFFIX: json.dumps(read, indent=1) + "\n"}
    if one_file:
        for entry in entries:
            files.update(entry_files(results[entry.unique_entry_id]))
        storage.write_text(
            storage.join(out, entries[0].unique_entry_id + SHARE_SUFFIX), json.dumps(files), "application/json"
        )
    else:
        ((name, text),) = files.items()
        storage.write_text(storage.join(out, name), text)
    return [results[e.unique_entry_id] for e in entries]
