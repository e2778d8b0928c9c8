"""What a researcher reads off an alignment, computed from Clustal Omega's own output in one
pass (issue 21, items 2 and 3): the variant position table, the alignment in the formats other
tools read, and the percent-identity matrix. Nothing is re-aligned.

- **Conservation of a column**: Clustal Omega's own symbol from its consensus line (``*``,
  ``:``, ``.`` or blank), and the *percent identity of the column*: of the sequences that have a
  residue in it (not a gap), the share carrying its most frequent residue, in percent.
- **Percent identity of two sequences**: identical residues over the columns where both have a
  residue (gaps in either are not counted), in percent: the definition of EMBL-EBI's Clustal
  Omega ``pim`` output, laid out as its square matrix (names, then one row per sequence), as TSV.
- **Formats**: aligned FASTA, Stockholm, PHYLIP (relaxed: names whole, as ours are long;
  Biopython writes a ``:`` of a name as ``|``, the one character PHYLIP cannot carry), NEXUS and
  Clustal are written by Biopython's ``AlignIO``; MSF (which Biopython reads but does not
  write) by :func:`msf`, read back by Biopython in the tests.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pavi.domain.alignment import AlignmentError

FORMATS = ("clustal", "fasta", "stockholm", "phylip", "msf", "nexus")
VARIANT_COLUMNS = (
    "variant_id",
    "sequence_name",
    "alignment_start_pos",
    "alignment_end_pos",
    "ref_residues",
    "alt_residues",
    "other_sequence_name",
    "other_residues",
    "other_equals_ref",
    "other_equals_alt",
    "conservation",
    "percent_identity",
)


@dataclass(frozen=True)
class ParsedAlignment:
    """A Clustal file's rows (in its order) and its consensus line, one symbol per column."""

    names: list[str]
    rows: list[str]
    consensus: str

    @classmethod
    def from_clustal(cls, text: str) -> ParsedAlignment:
        lines = text.splitlines()
        if not lines or not lines[0].startswith("CLUSTAL"):
            raise AlignmentError("the alignment is not in Clustal format")
        rows: dict[str, list[str]] = {}
        consensus: list[str] = []
        block_width = offset = 0
        for line in lines[1:]:
            if not line.strip():
                if block_width and len(consensus) < len(next(iter(rows.values()))):
                    consensus.append(" " * block_width)  # a block without a consensus line
                block_width = 0
                continue
            if line.startswith(" "):
                consensus.append(line[offset : offset + block_width].ljust(block_width))
                block_width = 0
                continue
            name, residues = line.split()[:2]
            offset = line.index(residues, len(name))
            block_width = len(residues)
            rows.setdefault(name, []).append(residues)
        names = list(rows)
        joined = ["".join(rows[name]) for name in names]
        symbols = "".join(consensus)
        if joined and len(symbols) != len(joined[0]):
            symbols = symbols.ljust(len(joined[0]))
        return cls(names, joined, symbols)

    @property
    def length(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    def percent_identity(self) -> list[float]:
        """Each column's percent identity among the sequences with a residue there."""
        values = []
        for column in zip(*self.rows, strict=True):
            residues = [r for r in column if r != "-"]
            values.append(round(100 * Counter(residues).most_common(1)[0][1] / len(residues), 1) if residues else 0.0)
        return values


def variant_rows(
    parsed: ParsedAlignment, seqinfo: dict[str, dict[str, dict[str, Any]]], info: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per (embedded variant x aligned sequence), from the entries' seq-info
    (``seqinfo``: entry -> name -> info; the first name is the reference) and the aligned
    seq-info (``info``, with each variant's alignment columns)."""
    index = {name: i for i, name in enumerate(parsed.names)}
    identity = parsed.percent_identity()
    rows = []
    for entry_id in sorted(seqinfo):
        names = list(seqinfo[entry_id])
        reference = names[0]
        for name in names[1:]:
            for variant in info.get(name, {}).get("embedded_variants", []):
                if name not in index or "alignment_start_pos" not in variant:
                    continue
                first, last = variant["alignment_start_pos"] - 1, variant["alignment_end_pos"]
                alt = parsed.rows[index[name]][first:last]
                ref = parsed.rows[index[reference]][first:last] if reference in index else ""
                symbols = parsed.consensus[first:last]
                for other, row in zip(parsed.names, parsed.rows, strict=True):
                    residues = row[first:last]
                    rows.append(
                        {
                            "variant_id": variant["variant_id"],
                            "sequence_name": name,
                            "alignment_start_pos": first + 1,
                            "alignment_end_pos": last,
                            "ref_residues": ref,
                            "alt_residues": alt,
                            "other_sequence_name": other,
                            "other_residues": residues,
                            "other_equals_ref": residues == ref,
                            "other_equals_alt": residues == alt,
                            "conservation": symbols,
                            "percent_identity": identity[first:last],
                        }
                    )
    return rows


def variant_table_tsv(rows: list[dict[str, Any]]) -> str:
    """The rows as TSV, one header line; per-column values joined by ``,``, a blank symbol as ``_``."""
    lines = ["\t".join(VARIANT_COLUMNS)]
    for row in rows:
        cells = []
        for column in VARIANT_COLUMNS:
            value = row[column]
            if column == "conservation":
                value = ",".join(symbol if symbol != " " else "_" for symbol in value)
            elif column == "percent_identity":
                value = ",".join(f"{v:g}" for v in value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            cells.append(str(value))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def variant_table_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"columns": list(VARIANT_COLUMNS), "rows": rows}, indent=1) + "\n"


def identity_matrix_tsv(parsed: ParsedAlignment) -> str:
    """Percent identity of every pair (identical residues over the columns where both have one),
    as a square TSV: a header of names, then each sequence's row."""
    import numpy as np

    if not parsed.rows:
        return "\n"
    codes = np.frombuffer("".join(parsed.rows).encode("ascii"), dtype=np.uint8).reshape(len(parsed.rows), -1)
    present = (codes != ord("-")).astype(np.float32)
    shared = present @ present.T
    same = np.zeros_like(shared)
    for letter in np.unique(codes):
        if letter != ord("-"):
            mask = (codes == letter).astype(np.float32)
            same += mask @ mask.T
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(shared > 0, 100 * same / shared, 0.0)
    lines = ["\t" + "\t".join(parsed.names)]
    for name, values in zip(parsed.names, percent, strict=True):
        lines.append(name + "\t" + "\t".join(f"{v:.2f}" for v in values))
    return "\n".join(lines) + "\n"


def msf(parsed: ParsedAlignment) -> str:
    """The alignment in GCG's MSF format (protein: ``Type: P``; gaps as ``.``, as GCG writes them)."""
    width = max(len(name) for name in parsed.names)
    header = [
        "!!AA_MULTIPLE_ALIGNMENT 1.0",
        "",
        f" alignment.msf  MSF: {parsed.length}  Type: P  Check: {sum(_gcg_check(r) for r in parsed.rows) % 10000}  ..",
        "",
    ]
    header += [
        f" Name: {name.ljust(width)}  Len: {parsed.length}  Check: {_gcg_check(row)}  Weight: 1.00"
        for name, row in zip(parsed.names, parsed.rows, strict=True)
    ]
    header += ["", "//", ""]
    blocks = []
    for start in range(0, parsed.length, 50):
        lines = []
        for name, row in zip(parsed.names, parsed.rows, strict=True):
            chunk = row[start : start + 50].replace("-", ".")
            groups = " ".join(chunk[i : i + 10] for i in range(0, len(chunk), 10))
            lines.append(f"{name.ljust(width)}  {groups}")
        blocks.append("\n".join(lines))
    return "\n".join(header) + "\n" + "\n\n".join(blocks) + "\n"


def _gcg_check(row: str) -> int:
    """GCG's checksum of a sequence (as its MSF header carries it)."""
    return sum((i % 57 + 1) * ord(c) for i, c in enumerate(row.upper().replace("-", "."))) % 10000


PHYLIP_UNSAFE = frozenset("[](),:;'")  # what Biopython's PHYLIP writer strips or turns into '|'


def phylip_names(names: list[str]) -> dict[str, str]:
    """The names PHYLIP cannot carry as they are, each with the name written instead: every
    character of :data:`PHYLIP_UNSAFE` as ``_``, then ``_2``, ``_3``... until no two names are
    one (``gene(1)`` and ``gene_1_`` stay two). Empty when every name is written as it is."""
    taken = set(names)
    renamed: dict[str, str] = {}
    for name in names:
        if not PHYLIP_UNSAFE & set(name):
            continue
        base = "".join("_" if c in PHYLIP_UNSAFE else c for c in name)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        renamed[name] = candidate
    return renamed


def formats(parsed: ParsedAlignment, clustal: str) -> dict[str, str]:
    """The alignment in each of :data:`FORMATS` (Clustal: Clustal Omega's own file, as it is).
    Every format keeps each name exactly (NEXUS quotes it where it must) but PHYLIP, whose names
    are :func:`phylip_names`' substitutions where they have to be (the job report lists them)."""
    from Bio import AlignIO
    from Bio.Align import MultipleSeqAlignment
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    def alignment(rename: dict[str, str]) -> Any:
        return MultipleSeqAlignment(  # type: ignore[no-untyped-call]
            SeqRecord(Seq(row), id=rename.get(name, name), description="", annotations={"molecule_type": "protein"})
            for name, row in zip(parsed.names, parsed.rows, strict=True)
        )

    as_named = alignment({})
    written = {"clustal": clustal, "msf": msf(parsed)}
    for name, biopython in (
        ("fasta", "fasta"),
        ("stockholm", "stockholm"),
        ("phylip", "phylip-relaxed"),
        ("nexus", "nexus"),
    ):
        out = io.StringIO()
        AlignIO.write(alignment(phylip_names(parsed.names)) if name == "phylip" else as_named, out, biopython)  # type: ignore[no-untyped-call]
        written[name] = out.getvalue()
    return written
