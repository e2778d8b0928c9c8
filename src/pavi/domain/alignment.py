"""Alignment input, Clustal Omega, and the aligned sequence info (SPEC section 5).

- :func:`prepare_input` joins the per-entry protein FASTA files in file-name order and
  reads the seqinfo files, listing the entries whose reference sequence failed;
- :func:`run_clustalo` runs Clustal Omega 1.2.4 exactly as the upstream pipeline does
  (one sequence, which Clustal Omega refuses, gets a valid one-sequence Clustal file);
- :func:`aligned_seq_info` merges the seqinfo maps and adds each embedded variant's
  alignment columns.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Bio.SeqIO.FastaIO import SimpleFastaParser

from pavi.domain import storage
from pavi.domain.clustal_format import newick_label, quoted_leaves
from pavi.domain.errors import PaviError
from pavi.domain.retrieval import (
    EXCLUDED,
    GENOMES_SUFFIX,
    SHARE_SUFFIX,
    protein_file_name,
    seqinfo_file_name,
    unpack_share,
)

PROTEIN_SUFFIX = "-protein.fa"
SEQINFO_SUFFIX = "-seqinfo.json"
CLUSTAL_HEADER = "CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n"
CLUSTAL_BLOCK = 60
CLUSTAL_NAME_PADDING = 6
READERS = 16


class AlignmentError(PaviError):
    """The alignment could not be made (no sequences, Clustal Omega failed, unreadable output)."""


@dataclass
class FailedEntry:
    entry_id: str
    sequence_name: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"unique_entry_id": self.entry_id, "sequence_name": self.sequence_name, "error": self.error}


@dataclass
class PreparedInput:
    """What the per-entry files of a job add up to."""

    fasta: str
    entry_ids: list[str]
    seqinfo: dict[str, dict[str, dict[str, Any]]]  # entry id -> {sequence name -> info}
    failed: list[FailedEntry] = field(default_factory=list)
    alternative_errors: list[FailedEntry] = field(default_factory=list)
    excluded: list[FailedEntry] = field(default_factory=list)  # made, but cannot be aligned: left out
    genomes: dict[str, Any] = field(default_factory=dict)  # URL -> the identity of each file read

    @property
    def sequence_count(self) -> int:
        return self.fasta.count(">")

    def counts(self) -> dict[str, int]:
        return {
            "entries": len(self.entry_ids),
            "entries_failed": len({f.entry_id for f in self.failed}),
            "entries_excluded": len({f.entry_id for f in self.excluded}),
            "sequences": self.sequence_count,
            "alternative_errors": len(self.alternative_errors),
        }

    @property
    def can_align(self) -> bool:
        """SPEC 5: a failed reference retrieval fails the job; an alternative's error is data."""
        return not self.failed and self.sequence_count > 0


def prepare_input(seq_dir: str, expected_entries: list[str] | None = None) -> PreparedInput:
    """Read the per-entry files in ``seq_dir`` (folder or ``s3://`` prefix), and those its
    shares hold (:data:`pavi.domain.retrieval.SHARE_SUFFIX`).

    With ``expected_entries`` (the manifest's), only their files are read, and an entry whose
    seqinfo is absent counts as failed (its retrieval never finished), so no partial job is
    presented as complete.
    """
    listed = storage.list_names(seq_dir)
    shares = [name for name in listed if name.endswith(SHARE_SUFFIX)]
    held = {
        name: text
        for share in _read_all([storage.join(seq_dir, n) for n in shares])
        for name, text in unpack_share(share).items()
    }

    def read(selected: list[str]) -> list[str]:
        from_store = _read_all([storage.join(seq_dir, n) for n in selected if n not in held])
        texts = iter(from_store)
        return [held[n] if n in held else next(texts) for n in selected]

    names = sorted((set(listed) - set(shares)) | set(held))
    if expected_entries is not None:  # only the manifest's entries: never a file another run left there
        wanted = {seqinfo_file_name(e) for e in expected_entries} | {protein_file_name(e) for e in expected_entries}
        names = [n for n in names if n in wanted or n.endswith(GENOMES_SUFFIX)]
    seqinfo_ids = [n.removesuffix(SEQINFO_SUFFIX) for n in names if n.endswith(SEQINFO_SUFFIX)]
    entry_ids = sorted(set(seqinfo_ids) | set(expected_entries or []))
    seqinfo: dict[str, dict[str, dict[str, Any]]] = {}
    failed: list[FailedEntry] = []
    alternative_errors: list[FailedEntry] = []
    excluded: list[FailedEntry] = []
    present = set(seqinfo_ids)
    texts = dict(zip(seqinfo_ids, read([seqinfo_file_name(e) for e in seqinfo_ids]), strict=True))
    for entry_id in entry_ids:
        if entry_id not in present:
            failed.append(FailedEntry(entry_id, "", "its retrieval did not finish (no seqinfo file)"))
            continue
        info: dict[str, dict[str, Any]] = json.loads(texts[entry_id])
        seqinfo[entry_id] = info
        for position, (name, sequence_info) in enumerate(info.items()):
            if "error" in sequence_info:
                target = failed if position == 0 else alternative_errors
                if position == 0 and sequence_info.get(EXCLUDED):
                    target = excluded  # it fails alone: the others are aligned
                target.append(FailedEntry(entry_id, name, sequence_info["error"]))
    protein_files = sorted(n for n in names if n.endswith(PROTEIN_SUFFIX))
    missing = [e for e in seqinfo if protein_file_name(e) not in protein_files]
    failed += [FailedEntry(e, "", "its protein file is missing") for e in missing]
    fasta = "".join(read(protein_files))
    genomes: dict[str, Any] = {}
    for text in read([n for n in names if n.endswith(GENOMES_SUFFIX)]):
        genomes.update(json.loads(text))
    return PreparedInput(fasta, entry_ids, seqinfo, failed, alternative_errors, excluded, genomes)


def _read_all(locations: list[str]) -> list[str]:
    """The texts of many small files, read concurrently (a job's files on S3 are many)."""
    if len(locations) < 2:
        return [storage.read_text(location) for location in locations]
    with ThreadPoolExecutor(min(READERS, len(locations))) as pool:
        return list(pool.map(storage.read_text, locations))


def parse_fasta(text: str) -> list[tuple[str, str]]:
    """``(name, sequence)`` of each FASTA record; the name is the title's first word."""
    return [
        (title.split()[0] if title.strip() else "", sequence)
        for title, sequence in SimpleFastaParser(io.StringIO(text))  # type: ignore[no-untyped-call]
    ]


def format_single_clustal(name: str, sequence: str) -> str:
    """A one-sequence alignment laid out as Clustal Omega 1.2.4 lays out its files."""
    width = len(name) + CLUSTAL_NAME_PADDING
    blocks = []
    for start in range(0, len(sequence), CLUSTAL_BLOCK):
        chunk = sequence[start : start + CLUSTAL_BLOCK]
        blocks.append(f"{name.ljust(width)}{chunk}\t{start + len(chunk)}\n{' ' * width}{'*' * len(chunk)}\n")
    return CLUSTAL_HEADER + "\n".join(blocks)


def clustalo_threads() -> int:
    """Threads for Clustal Omega: ``PAVI_ALIGN_THREADS``, else 1. More threads gave the same
    output for little gain: 7% less time for 51% more CPU on the 51 conformance proteins
    (``benchmarks/clustal_threads.py``)."""
    configured = os.environ.get("PAVI_ALIGN_THREADS")
    return max(1, int(configured)) if configured else 1


@functools.cache
def clustalo_version(binary: str) -> str:
    """What ``clustalo --version`` says (1.2.4 in both lanes' image and on this machine)."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip() or "unknown"


def run_clustalo(fasta: str, threads: int | None = None, executable: str = "clustalo") -> str:
    """Align the proteins of ``fasta``; returns the Clustal text (``--outfmt=clustal --resno``)."""
    return align_with_tree(fasta, threads, executable)[0]


def align_with_tree(
    fasta: str,
    threads: int | None = None,
    executable: str = "clustalo",
    run: dict[str, str] | None = None,
    aligner: str = "clustalo",
) -> tuple[str, str]:
    """The Clustal text and, from the same run (``--guidetree-out``, which leaves the alignment
    byte-identical: ``tests/unit/test_alignment.py``), the guide tree in Newick. ``run``, when
    given, gets the run's account for the job's provenance: the aligner, its version and its
    exact command line (the scratch folder's paths written as the job's file names). ``aligner``:
    ``clustalo`` or ``famsa`` (:mod:`pavi.domain.aligners`)."""
    records = parse_fasta(fasta)
    if not records:
        raise AlignmentError("no sequence to align: every entry failed")
    if run is not None:
        run["aligner"] = aligner
    if len(records) == 1:
        if run is not None:
            run.update(clustal_omega="not run (one sequence)", command="written by pavi as Clustal Omega lays it out")
        return format_single_clustal(*records[0]), f"{newick_label(records[0][0])};\n"
    if aligner == "famsa":
        from pavi.domain.aligners import align_with_famsa

        try:
            clustal, newick = align_with_famsa(records, threads or clustalo_threads(), run)
        except (ValueError, RuntimeError) as error:
            raise AlignmentError(f"FAMSA failed: {error}") from error
        check_alignment(records, parse_clustal(clustal))
        return clustal, newick
    binary = shutil.which(executable)
    if binary is None:
        raise AlignmentError(f"Clustal Omega ({executable}) is not installed (Debian/Ubuntu package 'clustalo')")
    with tempfile.TemporaryDirectory(prefix="pavi-align-") as scratch:
        source, target = Path(scratch, "alignment-input.fa"), Path(scratch, "alignment-output.aln")
        tree = Path(scratch, "guide-tree.dnd")
        source.write_text(fasta)
        command = [binary, "-i", str(source), "--outfmt=clustal", "--resno", "-o", str(target)]
        command.append(f"--guidetree-out={tree}")
        command.append(f"--threads={threads or clustalo_threads()}")
        if run is not None:
            said = " ".join(command[1:]).replace(f"{scratch}/", "")
            run.update(clustal_omega=clustalo_version(binary), command=f"clustalo {said}")
        # its own process group: whatever ends this one early (an exception, SIGTERM turned into
        # one by the CLI) stops Clustal Omega and its threads before the scratch folder goes
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.returncode != 0 or not target.exists():
            message = (stderr or stdout).strip() or _exit_said(process.returncode)
            raise AlignmentError(f"Clustal Omega failed: {message}")
        clustal = target.read_text()
        newick = quoted_leaves(tree.read_text()) if tree.exists() else ""
    check_alignment(records, parse_clustal(clustal))
    return clustal, newick


def _exit_said(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return f"it was killed by {name} (out of memory, or it crashed)"
    return f"exit status {code}"


def check_alignment(sent: list[tuple[str, str]], aligned: dict[str, str]) -> None:
    """Raise :class:`AlignmentError` unless every sequence sent to Clustal Omega comes back
    exactly once, under its own name, with its own residues, and no other row does: a name it
    shortened or blanked would otherwise give one sequence's columns to another."""
    names = [name for name, _ in sent]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise AlignmentError(f"the alignment input names sequences more than once: {', '.join(repeated[:5])}")
    missing = [name for name in names if name not in aligned]
    unknown = [name for name in aligned if name not in set(names)]
    if missing or unknown:
        raise AlignmentError(
            "Clustal Omega's output does not name the sequences it was given "
            f"(missing: {', '.join(missing[:5]) or 'none'}; not sent: {', '.join(unknown[:5]) or 'none'})"
        )
    lengths = {len(row) for row in aligned.values()}
    if len(lengths) > 1:
        raise AlignmentError(f"Clustal Omega's rows have different lengths ({sorted(lengths)[:5]})")
    for name, residues in sent:
        if aligned[name].replace("-", "") != residues:
            raise AlignmentError(f"the aligned row of {name} does not hold the residues sent for it")


def parse_clustal(text: str) -> dict[str, str]:
    """Aligned sequences of a Clustal file, by name; a name twice in a block is an error."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("CLUSTAL"):
        raise AlignmentError("the alignment is not in Clustal format")
    aligned: dict[str, list[str]] = {}
    order: list[str] = []
    block_index = 0
    seen_in_block: set[str] = set()
    for line in lines[1:]:
        if not line.strip():
            seen_in_block = set()
            continue
        if line.startswith(" "):
            block_index += 1
            continue
        parts = line.split()
        name, residues = parts[0], parts[1]
        if name in seen_in_block:
            raise AlignmentError(f"the alignment has two rows named {name} in one block")
        seen_in_block.add(name)
        if name not in aligned:
            aligned[name] = []
            order.append(name)
        aligned[name].append(residues)
    return {name: "".join(aligned[name]) for name in order}


def residue_columns(aligned: str) -> list[int]:
    """1-based alignment column of each residue (index 0: residue 1)."""
    return [column for column, char in enumerate(aligned, start=1) if char != "-"]


def alignment_column(columns: list[int], position: int, alignment_length: int) -> int:
    """Column of a 1-based residue position; one past the last residue (a new stop codon)
    maps to the column after the last residue, at most the alignment's last column."""
    if 1 <= position <= len(columns):
        return columns[position - 1]
    if position == len(columns) + 1 and columns:
        return min(columns[-1] + 1, alignment_length)
    raise AlignmentError(f"residue {position} is outside the sequence (length {len(columns)})")


def aligned_seq_info(
    seqinfo: dict[str, dict[str, dict[str, Any]]], alignment: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """All seqinfo maps merged, embedded variants with their alignment columns, keys sorted."""
    merged: dict[str, dict[str, Any]] = {}
    for entry_id in sorted(seqinfo):
        for name, info in seqinfo[entry_id].items():
            info = json.loads(json.dumps(info))  # a copy
            if "error" not in info and name not in alignment:
                raise AlignmentError(f"sequence {name} of entry {entry_id} has no row in the alignment")
            variants = info.get("embedded_variants")
            if variants and name in alignment:
                columns = residue_columns(alignment[name])
                length = len(alignment[name])
                for variant in variants:
                    variant["alignment_start_pos"] = alignment_column(columns, variant["seq_start_pos"], length)
                    variant["alignment_end_pos"] = alignment_column(columns, variant["seq_end_pos"], length)
            merged[name] = info
    ordered: dict[str, dict[str, Any]] = _sorted(merged)
    return ordered


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
