"""The job's aligner: Clustal Omega 1.2.4 (the previous PAVI's, byte for byte) or FAMSA 2 (issue 29),
each giving the same outputs: the Clustal file, the guide tree in Newick, and its own account.

FAMSA runs through ``pyfamsa`` (its maintained Python binding, FAMSA's own code, pinned). Its
alignment is written as Clustal Omega writes its files (:mod:`pavi.domain.clustal_format`), with a
header naming FAMSA; its guide tree (FAMSA's default, single linkage) with every name quoted by
Newick's rule. Sequences go to FAMSA under their indices, so no name can be changed or lost on the
way, and every name and residue is checked to come back (:func:`pavi.domain.alignment.check_alignment`).

Which aligner a job gets (:func:`choose`): the one its request names (``"aligner"``), else Clustal
Omega up to :data:`FAMSA_FROM_SEQUENCES` sequences and FAMSA past it, where Clustal Omega's time
grows out of reach (``docs/benchmarks.md``): the web UI's jobs (at most 500 entries, so at most
1,000 sequences) keep Clustal Omega and their byte-identical outputs.
"""

from __future__ import annotations

import re
from typing import Any

ALIGNERS = ("clustalo", "famsa")
FAMSA_FROM_SEQUENCES = 1001  # sequences from which FAMSA aligns a job that names no aligner
_LEAF = re.compile(r"(?<=[(,])(\d+)(?=:)")


def choose(requested: str | None, sequences: int) -> tuple[str, str]:
    """The aligner of a job of at most ``sequences`` sequences (its references and alternatives), and why."""
    if requested:
        return requested, "named in the request"
    if sequences >= FAMSA_FROM_SEQUENCES:
        return (
            "famsa",
            f"{sequences:,} sequences: FAMSA from {FAMSA_FROM_SEQUENCES:,} (Clustal Omega's time grows too fast)",
        )
    return "clustalo", f"up to {sequences:,} sequences: Clustal Omega up to {FAMSA_FROM_SEQUENCES - 1:,}"


def famsa_version() -> str:
    """FAMSA's own version and the binding's: ``FAMSA 2.5.2 (pyfamsa 0.7.0)``."""
    from importlib.metadata import version

    import pyfamsa

    return f"FAMSA {pyfamsa.famsa_info().version} (pyfamsa {version('pyfamsa')})"


def align_with_famsa(
    records: list[tuple[str, str]], threads: int = 1, run: dict[str, Any] | None = None
) -> tuple[str, str]:
    """FAMSA's alignment of ``records`` (name, residues), as a Clustal file and a Newick guide tree."""
    import pyfamsa

    from pavi.domain.clustal_format import clustal_text, newick_label

    sequences = [
        pyfamsa.Sequence(str(index).encode(), residues.encode()) for index, (_, residues) in enumerate(records)
    ]
    aligner = pyfamsa.Aligner(threads=threads, guide_tree="sl")
    aligned = {int(row.id): row.sequence.decode() for row in aligner.align(sequences)}
    rows = [(name, aligned[index]) for index, (name, _) in enumerate(records)]
    tree = aligner.build_tree(sequences).dumps().decode()
    newick = _LEAF.sub(lambda leaf: newick_label(records[int(leaf[1])][0]), tree).strip() + "\n"
    version = famsa_version()
    if run is not None:
        command = f"pyfamsa.Aligner(guide_tree='sl', threads={threads}).align(alignment-input.fa)"
        run.update(aligner="famsa", famsa=version, command=command)
    return clustal_text(rows, f"CLUSTAL {version} multiple sequence alignment"), newick
