"""Issue 21, items 2 and 3: the variant position table, the alignment in other formats, the
percent-identity matrix, all read off Clustal Omega's own output."""

from __future__ import annotations

import io
import json
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from Bio import AlignIO

from pavi.domain.alignment import aligned_seq_info, parse_clustal, run_clustalo
from pavi.domain.alignment_outputs import (
    FORMATS,
    ParsedAlignment,
    formats,
    identity_matrix_tsv,
    msf,
    phylip_names,
    variant_rows,
    variant_table_json,
    variant_table_tsv,
)

BIOPYTHON_NAME = {"phylip": "phylip-relaxed"}


@pytest.fixture(scope="module")
def clustal(conformance: Path) -> str:
    """Clustal Omega on the previous PAVI's four proteins (names with '.', '-' and '_')."""
    fasta = (conformance / "pavi-upstream" / "alignment-input-seqs.fa").read_text().replace("*", "")
    return run_clustalo(fasta, threads=1)


def consensus_lines(text: str) -> str:
    """The consensus symbols as Clustal Omega wrote them, read independently: each block's last
    line, from the column where its rows' residues start."""
    symbols = []
    for block in text.split("\n\n")[1:]:
        lines = [line for line in block.splitlines() if line.strip() or line]
        if not lines:
            continue
        first = lines[0]
        start = len(first) - len(first.split(None, 1)[1])
        width = len(first.split()[1])
        symbols.append(lines[-1][start : start + width].ljust(width))
    return "".join(symbols)


def test_rows_and_consensus_are_clustal_omegas(clustal: str) -> None:
    parsed = ParsedAlignment.from_clustal(clustal)
    assert dict(zip(parsed.names, parsed.rows, strict=True)) == parse_clustal(clustal)
    assert parsed.consensus == consensus_lines(clustal)
    identity = parsed.percent_identity()
    for column, symbol in enumerate(parsed.consensus):
        residues = {row[column] for row in parsed.rows}
        if symbol == "*":
            assert len(residues) == 1 and identity[column] == 100
        if "-" not in residues and len(residues) == 4:
            assert identity[column] == 25


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_parses_back_to_the_same_names_and_columns(clustal: str, fmt: str) -> None:
    parsed = ParsedAlignment.from_clustal(clustal)
    text = formats(parsed, clustal)[fmt]
    back = AlignIO.read(io.StringIO(text), BIOPYTHON_NAME.get(fmt, fmt))
    assert [record.id for record in back] == parsed.names
    assert [str(record.seq).replace(".", "-") for record in back] == parsed.rows


def test_the_identity_matrix_is_identical_residues_over_shared_columns(clustal: str) -> None:
    parsed = ParsedAlignment.from_clustal(clustal)
    lines = identity_matrix_tsv(parsed).splitlines()
    assert lines[0].split("\t") == ["", *parsed.names]
    values = {line.split("\t")[0]: [float(v) for v in line.split("\t")[1:]] for line in lines[1:]}
    for i, (a, row_a) in enumerate(zip(parsed.names, parsed.rows, strict=True)):
        assert values[a][i] == 100.0
        for j, (b, row_b) in enumerate(zip(parsed.names, parsed.rows, strict=True)):
            both = [(x, y) for x, y in zip(row_a, row_b, strict=True) if x != "-" and y != "-"]
            expected = 100 * sum(x == y for x, y in both) / len(both)
            assert values[a][j] == pytest.approx(expected, abs=0.005) and values[a][j] == values[b][i]
    assert len(list(combinations(parsed.names, 2))) == 6


ALIGNMENT = (
    "CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n"
    "A_ref      MKTAYIAKQR\t10\n"
    "A_alt      MKTCYIAKQR\t10\n"
    "B          MKSAY-AKQR\t9\n"
    "           **: * ****\n"
)


def test_one_row_per_variant_and_aligned_sequence() -> None:
    seqinfo: dict[str, dict[str, dict[str, Any]]] = {
        "a": {
            "A_ref": {},
            "A_alt": {"embedded_variants": [{"variant_id": "v1", "seq_start_pos": 4, "seq_end_pos": 5}]},
        },
        "b": {"B": {}},
    }
    parsed = ParsedAlignment.from_clustal(ALIGNMENT)
    info = aligned_seq_info(seqinfo, parse_clustal(ALIGNMENT))
    rows = variant_rows(parsed, seqinfo, info)
    assert [
        (r["other_sequence_name"], r["other_residues"], r["other_equals_ref"], r["other_equals_alt"]) for r in rows
    ] == [
        ("A_ref", "AY", True, False),
        ("A_alt", "CY", False, True),
        ("B", "AY", True, False),
    ]
    assert {(r["ref_residues"], r["alt_residues"], r["conservation"]) for r in rows} == {("AY", "CY", " *")}
    assert rows[0]["percent_identity"] == [66.7, 100.0]
    tsv = variant_table_tsv(rows).splitlines()
    assert tsv[0].startswith("variant_id\tsequence_name\talignment_start_pos\talignment_end_pos")
    assert tsv[3].split("\t") == ["v1", "A_alt", "4", "5", "AY", "CY", "B", "AY", "yes", "no", "_,*", "66.7,100"]
    assert json.loads(variant_table_json(rows))["rows"] == json.loads(json.dumps(rows))


def test_a_job_without_variants_has_the_header_only() -> None:
    parsed = ParsedAlignment.from_clustal(ALIGNMENT)
    rows = variant_rows(parsed, {"b": {"B": {}}}, {"B": {}})
    assert rows == [] and variant_table_tsv(rows).count("\n") == 1


def test_a_matrix_or_table_too_large_is_not_written_and_the_report_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 10,000-entry job's matrix would be 400 million values: past the bounds, the report says
    why instead of the collection running out of memory."""
    from pavi.aws import results
    from pavi.aws.job_store import JobPaths

    monkeypatch.setattr(results, "MAX_MATRIX_SEQUENCES", 2)
    monkeypatch.setattr(results, "MAX_VARIANT_TABLE_ROWS", 2)
    seqinfo = {
        "a": {
            "A_ref": {},
            "A_alt": {"embedded_variants": [{"variant_id": "v1", "seq_start_pos": 4, "seq_end_pos": 4}]},
        },
        "b": {"B": {}},
    }
    info = aligned_seq_info(seqinfo, parse_clustal(ALIGNMENT))
    paths = JobPaths(str(tmp_path), "job")
    skipped, renamed = results.write_views(paths, ALIGNMENT, seqinfo, info)
    assert renamed == {}
    assert skipped == {
        "identity_matrix": "3 sequences: at most 2",
        "variant_columns": "1 variants x 3 sequences: at most 2 rows",
        "variant_columns_json": "1 variants x 3 sequences: at most 2 rows",
    }
    written = sorted(p.name for p in (tmp_path / "results" / "job").iterdir())
    assert written == ["alignment.fasta", "alignment.msf", "alignment.nex", "alignment.phy", "alignment.sto"]


# -- issue 28, item 4: names intact in every format

PUNCTUATION_NAMES = [f"n{c}1" for c in "!\"#$%&'()*+,./:;<=?@[\\]^_`{|}~"] + [
    "HLA-A*01:01",
    "HLA-A*01:02",
    "gene(1)",
    "gene_1_",
]


@pytest.fixture(scope="module")
def punctuated() -> tuple[str, str]:
    """Clustal Omega's alignment and guide tree of sequences named with every printable ASCII
    punctuation character ('>' and '-' first excepted: the request refuses them there)."""
    from pavi.domain.alignment import align_with_tree

    residues = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    fasta = "".join(
        f">{name}\n{residues[: 20 + i % 7]}{'W' * (i % 3)}{residues[20 + i % 7 :]}\n"
        for i, name in enumerate(PUNCTUATION_NAMES)
    )
    return align_with_tree(fasta, threads=1)


def test_every_format_keeps_every_name_or_writes_a_listed_unique_substitute(punctuated: tuple[str, str]) -> None:
    clustal, _ = punctuated
    parsed = ParsedAlignment.from_clustal(clustal)
    assert sorted(parsed.names) == sorted(PUNCTUATION_NAMES)
    written = formats(parsed, clustal)
    renamed = phylip_names(parsed.names)
    for fmt, biopython in (("fasta", "fasta"), ("stockholm", "stockholm"), ("nexus", "nexus"), ("msf", "msf")):
        back = AlignIO.read(io.StringIO(written[fmt]), biopython)
        assert [record.id for record in back] == parsed.names, fmt
    back = AlignIO.read(io.StringIO(written["phylip"]), "phylip-relaxed")
    assert [record.id for record in back] == [renamed.get(name, name) for name in parsed.names]
    assert len({record.id for record in back}) == len(parsed.names)  # no two names became one
    assert set(renamed) == {name for name in PUNCTUATION_NAMES if set(name) & set("[](),:;'")}
    assert not set(renamed.values()) & set(PUNCTUATION_NAMES)  # gene(1) is not written as gene_1_
    # a second reader of the FASTA form, written by hand: '>' then the name, exactly
    assert [line[1:] for line in written["fasta"].splitlines() if line.startswith(">")] == parsed.names


def test_the_guide_tree_reads_back_every_name(punctuated: tuple[str, str]) -> None:
    """Clustal Omega writes names raw into Newick: ``HLA-A*01:01`` read back as ``HLA-A*01``
    (``:01`` taken for a branch length), and ``,`` ``(`` ``;`` made the tree unreadable."""
    from Bio import Phylo

    _, newick = punctuated
    tree = Phylo.read(io.StringIO(newick), "newick")
    assert sorted(leaf.name for leaf in tree.get_terminals()) == sorted(PUNCTUATION_NAMES)
    # the quoting by Newick's own rule, read by hand: every leaf line is 'NAME':LENGTH or NAME:LENGTH
    leaves = [line.rsplit(":", 1)[0] for line in newick.splitlines() if line and line[0] not in "(),;"]
    unquoted = [leaf[1:-1].replace("''", "'") if leaf.startswith("'") else leaf for leaf in leaves]
    assert sorted(unquoted) == sorted(PUNCTUATION_NAMES)


def test_a_plain_names_tree_is_as_clustal_omega_wrote_it() -> None:
    from pavi.domain.clustal_format import quoted_leaves

    raw = "(\nHLA-A-01:0.1\n,\nb-2:0.2\n)\n;\n"
    assert quoted_leaves(raw) == raw
    assert quoted_leaves("(\na_b:0.1\n,\nc:0.2\n);\n") == "(\n'a_b':0.1\n,\nc:0.2\n);\n"


# -- issue 28, item 2: oracles of their own for the formats

SMALL = (
    "CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n"
    "a      MK-V\t3\nb      MKAV\t4\nc      MR-V\t3\n           *: *\n"
)


def test_the_msf_checksums_by_hand() -> None:
    """GCG's checksum, by hand: each residue's code times its position (1 to 57, then again),
    gaps as '.' (46), summed, modulo 10,000."""
    text = msf(ParsedAlignment.from_clustal(SMALL))
    a = 1 * ord("M") + 2 * ord("K") + 3 * ord(".") + 4 * ord("V")  # 77 + 150 + 138 + 344
    b = 1 * ord("M") + 2 * ord("K") + 3 * ord("A") + 4 * ord("V")  # 77 + 150 + 195 + 344
    c = 1 * ord("M") + 2 * ord("R") + 3 * ord(".") + 4 * ord("V")  # 77 + 164 + 138 + 344
    assert (a, b, c) == (709, 766, 723)
    assert " Name: a  Len: 4  Check: 709  Weight: 1.00" in text
    assert " Name: b  Len: 4  Check: 766  Weight: 1.00" in text
    assert " Name: c  Len: 4  Check: 723  Weight: 1.00" in text
    assert "MSF: 4  Type: P  Check: 2198  .." in text  # 709 + 766 + 723


def test_the_identity_matrix_by_hand() -> None:
    """Identical residues over the columns both rows have a residue in, by hand: a/b share M K V
    (3 of 3); a/c share M V of M K|R V (2 of 3); b/c share M V of M K|R V (2 of 3)."""
    lines = identity_matrix_tsv(ParsedAlignment.from_clustal(SMALL)).splitlines()
    assert lines == [
        "\ta\tb\tc",
        "a\t100.00\t100.00\t66.67",
        "b\t100.00\t100.00\t66.67",
        "c\t66.67\t66.67\t100.00",
    ]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "phylip"])
def test_every_format_is_read_back_by_emboss_seqret(clustal: str, fmt: str, tmp_path: Path) -> None:
    """A second reader none of us wrote: EMBOSS ``seqret`` (Debian's ``emboss``) reads each form
    back to the same names and the same rows, gaps included. PHYLIP is left out: EMBOSS reads
    strict PHYLIP (10-character names) only, and the file is relaxed PHYLIP (Biopython reads it)."""
    import shutil
    import subprocess

    seqret = shutil.which("seqret")
    assert seqret, "EMBOSS seqret is missing (scripts/setup.sh installs Debian's emboss)"
    parsed = ParsedAlignment.from_clustal(clustal)
    source = tmp_path / f"alignment.{fmt}"
    source.write_text(formats(parsed, clustal)[fmt])
    emboss = {"clustal": "aln"}.get(fmt, fmt)
    done = subprocess.run(
        [seqret, "-sequence", f"{emboss}::{source}", "-outseq", "fasta::stdout", "-auto"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    records = [block.split("\n", 1) for block in done.stdout.split(">")[1:]]
    assert [name.split()[0] for name, _ in records] == parsed.names
    assert [body.replace("\n", "").replace(".", "-") for _, body in records] == parsed.rows
