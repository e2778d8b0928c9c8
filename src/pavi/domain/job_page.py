"""A job's page, ``report.html`` (issue 31): self-contained (no script, style sheet, font or image
from anywhere: everything inline), from the job's own results. It shows the picture
(:mod:`pavi.domain.picture`), the alignment as text in blocks of :data:`pavi.domain.picture.WRAP`
columns with each variant's residues marked, the variant table (each variant's consequence and
HGVS p., its columns, their conservation, what each other sequence carries there; a variant's
link scrolls the alignment to its block), the identity matrix as a heat map, the guide tree
drawn, and the job's provenance and failures.

Past :data:`FULL_CELLS` (sequences x columns) the page shows an overview instead of the picture
and the whole alignment: a strip of the columns' identity (the share of sequences carrying each
column's commonest residue) with the variants marked, and the columns around each variant in full,
so that the page always opens.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from pathlib import Path
from typing import Any

from pavi.domain import storage
from pavi.domain.picture import FORMATS, PICTURE_CELLS, WRAP, failures_of, picture_name, pictured, variant_cells

# Sequences x columns drawn in full (the demo: 1,100). Headless Chromium opens a page drawn in
# full in under 2 s up to about 9,000,000 cells here (benchmarks/page_bound.py: 6,400,000 in
# 1.35 s, 12,800,000 in 2.62 s); a third of that leaves room for a slower machine (0.8 s here,
# a 3.5 MB page written in about a second).
FULL_CELLS = 3_000_000
WINDOW = 30  # columns either side of a variant in the overview
MAX_MATRIX = 100  # sequences of the heat map
LISTED = 10  # other sequences named one by one in the variant table (past it, grouped by residue)
STYLE = """body{font-family:sans-serif;margin:1.5em}pre{font-size:12px;line-height:1.25}
.v{background:#d62728;color:#fff}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 5px}.strip{display:flex;height:24px}.strip span{flex:1}
.block{margin-bottom:1em}h2{margin-top:1.5em}"""


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def alignment_blocks(rows: dict[str, str], cells: list[tuple[int, int, int, str]], first: int = 1,
                     last: int | None = None) -> str:  # fmt: skip
    """The alignment's columns ``first..last`` as text blocks (``id="block-N"``, N from 0 for
    column 1), each variant's residues in a marked span."""
    names = list(rows)
    width = max(len(name) for name in names) + 2
    marked = {(row, column) for row, a, b, _ in cells for column in range(a, b + 1)}
    last = last or len(next(iter(rows.values())))
    blocks = []
    for start in range(first - 1, last, WRAP):
        stop = min(start + WRAP, last)
        lines = []
        for row, name in enumerate(names):
            residues = "".join(
                f'<span class="v">{_escape(r)}</span>' if (row, start + i + 1) in marked else _escape(r)
                for i, r in enumerate(rows[name][start:stop])
            )
            lines.append(f"{_escape(name.ljust(width))}{residues}")
        blocks.append(
            f'<pre class="block" id="block-{start // WRAP}">{start + 1}..{stop}\n' + "\n".join(lines) + "</pre>"
        )
    return "\n".join(blocks)


def overview_strip(identity: list[float], cells: list[tuple[int, int, int, str]]) -> str:
    """One stripe a column, darker as more sequences share its commonest residue; variants red."""
    marked = {column for _, a, b, _ in cells for column in range(a, b + 1)}
    stripes = "".join(
        f'<span style="background:{"#d62728" if i + 1 in marked else f"hsl(210,70%,{100 - 70 * share:.0f}%)"}"></span>'
        for i, share in enumerate(identity)
    )
    return f'<div class="strip" title="identity by column; variants in red">{stripes}</div>'


def identity_by_column(rows: dict[str, str]) -> list[float]:
    """Each column's share of sequences carrying its commonest residue (gaps never count)."""
    from collections import Counter

    shares = []
    for column in zip(*rows.values(), strict=True):
        counts = Counter(c for c in column if c != "-")
        shares.append(counts.most_common(1)[0][1] / len(column) if counts else 0.0)
    return shares


def heat_map(matrix_tsv: str) -> str:
    lines = [line.split("\t") for line in matrix_tsv.strip().splitlines()]
    if len(lines) - 1 > MAX_MATRIX:
        return f"<p>{len(lines) - 1:,} sequences: the matrix is in identity-matrix.tsv</p>"
    head = "".join(f"<th>{_escape(name)}</th>" for name in lines[0][1:])
    body = []
    for row in lines[1:]:
        cells = "".join(
            f'<td style="background:hsl(210,70%,{100 - float(v) / 2:.0f}%)">{_escape(v)}</td>' for v in row[1:]
        )
        body.append(f"<tr><th>{_escape(row[0])}</th>{cells}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>"


def tree_drawing(newick: str) -> str:
    from Bio import Phylo

    text = io.StringIO()
    Phylo.draw_ascii(Phylo.read(io.StringIO(newick), "newick"), file=text)  # type: ignore[attr-defined,no-untyped-call]
    return f"<pre>{_escape(text.getvalue())}</pre>"


def others_there(others: list[tuple[str, str]]) -> str:
    """What the other sequences carry at a variant's columns: each by name up to
    :data:`LISTED`; past that, each residue with how many carry it and the first few names."""
    if len(others) <= LISTED:
        return ", ".join(f"{name}: {residues}" for name, residues in others)
    groups: dict[str, list[str]] = {}
    for name, residues in others:
        groups.setdefault(residues, []).append(name)
    return "; ".join(
        f"{residues}: {len(names):,} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
        for residues, names in sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))
    )


def variant_table(info: dict[str, Any], rows: dict[str, str], columns: dict[str, Any], overview: bool = False) -> str:
    names = list(rows)
    by_variant: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in columns.get("rows", []):
        by_variant.setdefault((row["sequence_name"], row["variant_id"]), []).append(row)
    lines = ["<table><tr><th>variant</th><th>sequence</th><th>consequence</th><th>HGVS p.</th><th>columns</th>"
             "<th>conservation</th><th>the other sequences there</th></tr>"]  # fmt: skip
    for name in names:
        for variant in (info.get(name) or {}).get("embedded_variants") or []:
            first, last = variant.get("alignment_start_pos"), variant.get("alignment_end_pos")
            if first is None:
                continue
            others = by_variant.get((name, variant["variant_id"]), [])
            target = f"around-{first}" if overview else f"block-{(int(first) - 1) // WRAP}"
            carried = others_there([(o["other_sequence_name"], o["other_residues"]) for o in others
                                    if o["other_sequence_name"] != name])  # fmt: skip
            conservation = ""
            if others:
                identity = ", ".join(f"{value:g}%" for value in others[0].get("percent_identity") or [])
                conservation = f"{others[0]['conservation'].strip() or 'none'} ({identity} identical)"
            lines.append(
                f'<tr><td><a href="#{target}">{_escape(variant["variant_id"])}</a></td>'
                f"<td>{_escape(name)}</td><td>{_escape(', '.join(variant.get('consequence') or []))}</td>"
                f"<td>{_escape(variant.get('hgvs_p') or '')}</td><td>{first}..{last}</td>"
                f"<td>{_escape(conservation)}</td><td>{_escape(carried)}</td></tr>"
            )
    return "\n".join(lines) + "</table>"


def drawn_in_full(rows: dict[str, str]) -> bool:
    """Whether an alignment is drawn residue by residue (else the page's overview: :data:`FULL_CELLS`)."""
    return len(rows) * len(next(iter(rows.values()), "")) <= FULL_CELLS


def page(files: dict[str, str], picture_svg: str | None, rows: dict[str, str]) -> str:
    """``report.html`` from the job's results (``files``: name -> text of those present) and its
    alignment's ``rows`` (parsed from ``alignment-output.aln``; none when it has none)."""
    report = json.loads(files.get("job-report.json", "{}"))
    info = json.loads(files.get("aligned_seq_info.json", "{}"))
    names = list(rows)
    cells = variant_cells(info, names)
    length = len(next(iter(rows.values()))) if rows else 0
    parts = [f"<h1>PAVI job {_escape(report.get('job_id', ''))}: {_escape(report.get('status', ''))}</h1>",
             f"<p>{len(names):,} sequences, {length:,} columns</p>"]  # fmt: skip
    failures = failures_of(report)
    if failures:
        parts.append("<h2>Not aligned</h2><ul>" + "".join(f"<li>{_escape(f)}</li>" for f in failures) + "</ul>")
    if rows:
        overview = not drawn_in_full(rows)
        columns = json.loads(files.get("variant-columns.json", "{}"))
        parts.append("<h2>Variants</h2>" + variant_table(info, rows, columns, overview))
        if not overview:
            if picture_svg:
                body = re.sub(r"<metadata>.*?</metadata>", "", picture_svg[picture_svg.find("<svg") :], flags=re.S)
                parts.append(f'<h2>Picture</h2><div id="picture">{body}</div>')
            elif not pictured(rows):
                parts.append(f"<p>No picture: it is drawn up to {PICTURE_CELLS:,} cells (sequences x columns).</p>")
            parts.append("<h2>Alignment</h2>" + alignment_blocks(rows, cells))
        else:
            parts.append("<h2>Overview</h2>" + overview_strip(identity_by_column(rows), cells))
            parts.append("<h2>Around each variant</h2>")
            for _, first, last, label in cells:
                low, high = max(1, first - WINDOW), min(length, last + WINDOW)
                parts.append(
                    f'<h3 id="around-{first}">{_escape(label)}</h3>' + alignment_blocks(rows, cells, low, high)
                )
    if "identity-matrix.tsv" in files:
        parts.append("<h2>Percent identity</h2>" + heat_map(files["identity-matrix.tsv"]))
    if "guide-tree.dnd" in files:
        parts.append("<h2>Guide tree</h2>" + tree_drawing(files["guide-tree.dnd"]))
    parts.append("<h2>Provenance</h2><pre>" + _escape(json.dumps(report.get("provenance"), indent=1)) + "</pre>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>PAVI job {_escape(report.get('job_id', ''))}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


PAGE_INPUTS = ("job-report.json", "alignment-output.aln", "aligned_seq_info.json", "variant-columns.json",
               "identity-matrix.tsv", "guide-tree.dnd")  # fmt: skip


def page_name(scheme: str = "Clustal") -> str:
    """The page's file name among the job's results (its picture is in ``scheme``)."""
    picture_name("svg", scheme)  # a scheme it knows, or ValueError
    return "report.html" if scheme == "Clustal" else f"report-{scheme.lower()}.html"


def render(files: dict[str, str], scheme: str = "Clustal", formats: tuple[str, ...] = FORMATS,
           page_too: bool = True) -> dict[str, bytes]:  # fmt: skip
    """The pictures (``formats``, in ``scheme``) and the page of a job's results (``files``: the
    :data:`PAGE_INPUTS` present, name -> text), by file name. An alignment past
    :data:`pavi.domain.picture.PICTURE_CELLS` has no picture; the page's needs the SVG."""
    from pavi.domain.alignment import parse_clustal  # Biopython: loaded when a page is drawn, not by a read
    from pavi.domain.picture import draw

    for fmt in formats:
        picture_name(fmt, scheme)  # a format and a scheme it knows, or ValueError, drawn or not
    clustal = files.get("alignment-output.aln")
    rows = parse_clustal(clustal) if clustal else {}
    wanted = tuple(dict.fromkeys((*formats, "svg") if page_too else formats))
    out: dict[str, bytes] = {}
    if rows and pictured(rows) and wanted:
        info = json.loads(files.get("aligned_seq_info.json", "{}"))
        failures = failures_of(json.loads(files.get("job-report.json", "{}")))
        out = {picture_name(fmt, scheme): data for fmt, data in draw(rows, info, failures, wanted, scheme).items()}
    if page_too:
        svg = out.get(picture_name("svg", scheme))
        out[page_name(scheme)] = page(files, svg.decode() if svg else None, rows).encode()
    return out


def page_inputs(folder: str | Path) -> dict[str, str]:
    """The job's results the page is made of, name -> text, from a results folder (local or
    ``s3://``): those there (a job with a failed entry has fewer)."""
    files = {}
    for name in PAGE_INPUTS:
        try:
            files[name] = storage.read_text(storage.join(str(folder), name))
        except FileNotFoundError:
            continue
    return files


def write_page(folder: Path, scheme: str = "Clustal") -> tuple[list[str], float]:
    """Write the pictures and the page into ``folder``: the names written, and the seconds it took."""
    files = page_inputs(folder)
    began = time.perf_counter()
    written = render(files, scheme)
    for name, data in written.items():
        (folder / name).write_bytes(data)
    return sorted(written), time.perf_counter() - began
