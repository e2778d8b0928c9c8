"""An alignment written as Clustal Omega 1.2.4 writes its files (``--outfmt=clustal --resno``),
for an alignment another aligner made (FAMSA, issue 29): the output contract of the web UI is
one Clustal file, whoever aligned.

The layout: a header line and two blank lines; blocks of 60 columns, each row its name padded to
the longest name plus 6 spaces, its residues, a tab and the count of its residues so far; under
each block the conservation line, then a blank line between blocks. The conservation symbols are
Clustal Omega's: ``*`` a column of one residue, ``:`` one of Clustal's strong groups, ``.`` one of
its weak groups (as Clustal Omega 1.2.4 applies them: :data:`WEAK_GROUPS`), a space otherwise (and
wherever a column holds a gap). Checked byte for byte against
Clustal Omega's own files (``tests/unit/test_aligners.py``).

The guide tree's leaves, whoever aligned, are quoted by Newick's rule (:func:`newick_label`).
"""

from __future__ import annotations

BLOCK = 60
NAME_PADDING = 6
STRONG_GROUPS = ("STA", "NEQK", "NHQK", "NDEQ", "QHRK", "MILV", "MILF", "HY", "FYW")
# ClustalW's weak groups but STPA: Clustal Omega 1.2.4 writes a space, not '.', for every column of
# P with S, T or A (found by aligning each of the 190 pairs of residues with clustalo; every other
# pair gets ClustalW's symbol), and this writes what Clustal Omega writes
WEAK_GROUPS = ("CSA", "ATV", "SAG", "STNK", "SGND", "SNDEQK", "NDEQHK", "NEQHRK", "FVLIM", "HFY")
_STRONG = tuple(frozenset(group) for group in STRONG_GROUPS)
_WEAK = tuple(frozenset(group) for group in WEAK_GROUPS)


def conservation(column: str) -> str:
    """Clustal's conservation symbol of one alignment column."""
    if "-" in column:
        return " "
    residues = frozenset(column.upper())
    if len(residues) == 1:
        return "*"
    if any(residues <= group for group in _STRONG):
        return ":"
    if any(residues <= group for group in _WEAK):
        return "."
    return " "


def clustal_text(rows: list[tuple[str, str]], header: str) -> str:
    """The Clustal file of ``rows`` (name, aligned residues with ``-`` gaps, all one length)."""
    width = max(len(name) for name, _ in rows) + NAME_PADDING
    length = len(rows[0][1])
    counts = [0] * len(rows)
    blocks = []
    for start in range(0, length, BLOCK):
        lines = []
        for index, (name, row) in enumerate(rows):
            chunk = row[start : start + BLOCK]
            counts[index] += len(chunk) - chunk.count("-") - chunk.count("*")  # a stop is no residue
            lines.append(f"{name.ljust(width)}{chunk}\t{counts[index]}")
        columns = zip(*(row[start : start + BLOCK] for _, row in rows), strict=True)
        lines.append(" " * width + "".join(conservation("".join(column)) for column in columns))
        blocks.append("\n".join(lines) + "\n")
    return f"{header}\n\n\n" + "\n".join(blocks)


_NEWICK_SPECIAL = frozenset("()[]':;,_ \t")


def newick_label(name: str) -> str:
    """A leaf's label as Newick readers take it back: quoted (``'`` doubled inside) when the name
    holds a character Newick gives a meaning to (``_`` reads as a blank unquoted)."""
    if not _NEWICK_SPECIAL & set(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def quoted_leaves(newick: str) -> str:
    """Clustal Omega's guide tree with every leaf's name quoted where it must be. Clustal Omega
    writes names raw, one leaf a line (``NAME:LENGTH``), so ``HLA-A*01:01`` read back as
    ``HLA-A*01`` with a branch length of 01, and a ``,`` or ``(`` made the tree unreadable."""
    lines = []
    for line in newick.splitlines():
        if line and line[0] not in "(),;" and ":" in line:
            name, length = line.rsplit(":", 1)
            line = f"{newick_label(name)}:{length}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if newick.endswith("\n") else "")
