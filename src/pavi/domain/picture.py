"""A picture of a job's alignment with its variants marked (issue 31), drawn by ``pymsaviz``
(matplotlib): Clustal X colours (or ``Identity``), wrapped at :data:`WRAP` columns, the names, a
ruler of each sequence's positions, a conservation track (the consensus identity bars), and every
embedded variant's columns on its own sequence in :data:`VARIANT_COLOUR`, with a marker and its
HGVS p. above the columns; the failed and excluded entries listed under it, with their reasons.

Its input is the job's own results: ``alignment-output.aln`` (parsed) and ``aligned_seq_info.json`` (each
variant's alignment columns), and the report's failures.

pymsaviz draws each residue as its own box and letter: about 1 ms a cell for each format on one
core (10,000 cells: 8 s for the SVG, 11 s for the PNG; ``benchmarks/job_page.py``). A picture is
drawn for at most :data:`PICTURE_CELLS` (sequences x columns), so that the API draws it within
API Gateway's 29 s; past it the page shows the alignment as text (``pavi.domain.job_page``).
"""

from __future__ import annotations

import io
from typing import Any

WRAP = 60
VARIANT_COLOUR = "#d62728"
SCHEMES = ("Clustal", "Identity")
FORMATS = ("svg", "png")
PICTURE_CELLS = 10_000  # sequences x columns drawn as a picture (the demo: 1,100)


def pictured(rows: dict[str, str]) -> bool:
    """Whether an alignment is small enough to draw (:data:`PICTURE_CELLS`)."""
    return len(rows) * len(next(iter(rows.values()), "")) <= PICTURE_CELLS


def picture_name(fmt: str, scheme: str = "Clustal") -> str:
    """The picture's file name among the job's results: ``alignment.svg``, ``alignment-identity.png``."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme!r}: one of {', '.join(SCHEMES)}")
    return f"alignment{'' if scheme == 'Clustal' else '-' + scheme.lower()}.{fmt}"


def variant_cells(info: dict[str, Any], names: list[str]) -> list[tuple[int, int, int, str]]:
    """Each embedded variant: (row, first column, last column, label), columns 1-based."""
    cells = []
    for name, details in info.items():
        if name not in names or not isinstance(details, dict):
            continue
        for variant in details.get("embedded_variants") or []:
            first, last = variant.get("alignment_start_pos"), variant.get("alignment_end_pos")
            if first is None or last is None:
                continue
            label = variant.get("hgvs_p") or variant.get("variant_id") or ""
            cells.append((names.index(name), int(first), int(last), str(label)))
    return cells


def draw(
    rows: dict[str, str],
    info: dict[str, Any],
    failures: list[str],
    formats: tuple[str, ...] = FORMATS,
    scheme: str = "Clustal",
) -> dict[str, bytes]:
    """The picture of the aligned ``rows`` (by name, :func:`pavi.domain.alignment.parse_clustal`'s)
    in each of ``formats`` (``svg``, ``png``), drawn once."""
    import matplotlib

    matplotlib.use("Agg")
    from Bio.Align import MultipleSeqAlignment
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord
    from pymsaviz import MsaViz

    for fmt in formats:
        picture_name(fmt, scheme)  # a format and a scheme it knows, or ValueError
    names = list(rows)
    msa = MultipleSeqAlignment([SeqRecord(Seq(rows[name]), id=name, description="") for name in names])  # type: ignore[no-untyped-call]
    viz = MsaViz(msa, color_scheme=scheme, wrap_length=WRAP, show_count=True, show_consensus=True)
    cells = variant_cells(info, names)
    marked = {(row, column - 1) for row, first, last, _ in cells for column in range(first, last + 1)}
    colours = viz.color_scheme

    def colour(row: int, column: int, residue: str, _: Any) -> str | None:
        # None keeps the scheme's own colour (pymsaviz 0.5: Identity's too); lower-case residues
        # take their upper-case colour in Clustal's
        if (row, column) in marked:
            return VARIANT_COLOUR
        return colours.get(residue.upper()) if scheme == "Clustal" else None

    if scheme == "Clustal" or marked:
        viz.set_custom_color_func(colour)
    for row, first, last, label in cells:
        viz.add_markers([(first, last)] if first != last else [first], color=VARIANT_COLOUR)
        viz.add_text_annotation((first, last), f"{names[row]}: {label}", text_color=VARIANT_COLOUR,
                                range_color=VARIANT_COLOUR, text_size=8)  # fmt: skip
    figure = viz.plotfig()
    if failures:
        figure.text(0.01, 0.0, "Not aligned:\n" + "\n".join(failures), fontsize=8, va="top", family="monospace")
    drawn = {}
    for fmt in formats:
        out = io.BytesIO()
        figure.savefig(out, format=fmt, bbox_inches="tight", dpi=100, metadata={"Date": None} if fmt == "svg" else None)
        drawn[fmt] = out.getvalue()
    import matplotlib.pyplot as plt

    plt.close(figure)
    return drawn


def failures_of(report: dict[str, Any]) -> list[str]:
    """The report's failed and excluded entries and alternative errors, one line each."""
    lines = []
    for title, key in (("failed", "failed_entries"), ("left out", "excluded_entries"),
                       ("alternative error", "alternative_errors")):  # fmt: skip
        for item in report.get(key) or []:
            name = item.get("sequence_name") or item.get("unique_entry_id")
            lines.append(f"{title}: {name}: {item.get('error')}")
    return lines
