"""Issue 29: the second aligner (FAMSA through pyfamsa), the Clustal layout it is written in, and
which aligner a job gets."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pyfamsa
import pytest
from Bio import AlignIO, Phylo

from pavi.domain.aligners import FAMSA_FROM_SEQUENCES, choose
from pavi.domain.alignment import align_with_tree, parse_clustal, parse_fasta
from pavi.domain.alignment_outputs import ParsedAlignment
from pavi.domain.clustal_format import clustal_text, conservation
from pavi.domain.errors import RequestValidationError
from pavi.domain.request import requested_aligner

SHARED = Path(__file__).resolve().parents[3] / "shared" / "conformance"
CLUSTALO_HEADER = "CLUSTAL O(1.2.4) multiple sequence alignment"


def test_the_layout_is_clustal_omegas_byte_for_byte(tmp_path: Path) -> None:
    """The oracle is Clustal Omega itself: its own files, re-laid out from their rows, come back
    byte for byte (the previous PAVI's 51-protein vector, and a fresh run with gaps and names
    of several widths)."""
    expected = (SHARED / "pavi-upstream" / "alignment-expected-output.aln").read_text()
    parsed = ParsedAlignment.from_clustal(expected)
    assert clustal_text(list(zip(parsed.names, parsed.rows, strict=True)), CLUSTALO_HEADER) == expected
    source = tmp_path / "in.fa"
    source.write_text((SHARED / "pavi-upstream" / "alignment-input-seqs.fa").read_text()[:6000].rsplit(">", 1)[0])
    out = tmp_path / "out.aln"
    subprocess.run(["clustalo", "-i", str(source), "--outfmt=clustal", "--resno", "-o", str(out)], check=True)
    fresh = out.read_text()
    parsed = ParsedAlignment.from_clustal(fresh)
    assert clustal_text(list(zip(parsed.names, parsed.rows, strict=True)), CLUSTALO_HEADER) == fresh


@pytest.mark.parametrize(
    ("column", "symbol"),
    [("AAAA", "*"), ("STA", ":"), ("FYW", ":"), ("CSA", "."), ("FVLIM", "."), ("AP", " "), ("SP", " "), ("A-", " "),
     ("AW", " ")],
)  # fmt: skip
def test_conservation_symbols(column: str, symbol: str) -> None:
    """Clustal's groups, as Clustal Omega 1.2.4 applies them (P with S, T or A: no symbol)."""
    assert conservation(column) == symbol


@pytest.fixture(scope="module")
def proteins() -> str:
    """20 of the previous PAVI's proteins (its alignment vector's input)."""
    records = parse_fasta((SHARED / "pavi-upstream" / "alignment-input-seqs.fa").read_text())[:20]
    return "".join(f">{name}\n{residues.replace('*', '')}\n" for name, residues in records)


def test_famsa_aligns_every_sequence_under_its_name_with_its_residues(proteins: str) -> None:
    run: dict[str, str] = {}
    clustal, newick = align_with_tree(proteins, threads=1, run=run, aligner="famsa")
    sent = parse_fasta(proteins)
    assert clustal.startswith("CLUSTAL FAMSA 2.5.2 (pyfamsa 0.7.0) multiple sequence alignment\n\n\n")
    rows = parse_clustal(clustal)
    assert list(rows) == [name for name, _ in sent]  # the input's order, every name
    assert all(rows[name].replace("-", "") == residues for name, residues in sent)
    # a reader none of us wrote (Biopython) reads the same rows; pyfamsa's own answer is the same alignment
    back = AlignIO.read(io.StringIO(clustal), "clustal")
    assert {record.id: str(record.seq) for record in back} == rows
    direct = pyfamsa.Aligner(threads=1, guide_tree="sl").align(
        [pyfamsa.Sequence(name.encode(), residues.encode()) for name, residues in sent]
    )
    assert {row.id.decode(): row.sequence.decode() for row in direct} == rows
    assert sorted(leaf.name for leaf in Phylo.read(io.StringIO(newick), "newick").get_terminals()) == sorted(rows)
    assert run["aligner"] == "famsa" and run["famsa"] == "FAMSA 2.5.2 (pyfamsa 0.7.0)" and "threads=1" in run["command"]


def test_clustal_omega_is_unchanged_by_the_choice(proteins: str) -> None:
    """A job Clustal Omega aligns is what it was: Clustal Omega's own file, byte for byte."""
    run: dict[str, str] = {}
    clustal, _ = align_with_tree(proteins, threads=1, run=run)
    assert clustal.startswith(CLUSTALO_HEADER) and run["aligner"] == "clustalo"


def test_which_aligner_a_job_gets() -> None:
    assert choose("famsa", 3) == ("famsa", "named in the request")
    assert choose("clustalo", 50_000)[0] == "clustalo"
    assert choose(None, 1_000)[0] == "clustalo"  # the web UI's largest job: 500 entries, 1,000 sequences
    assert choose(None, FAMSA_FROM_SEQUENCES)[0] == "famsa"
    assert "FAMSA from 1,001" in choose(None, 10_000)[1]


def test_the_request_names_its_aligner_or_is_refused() -> None:
    assert requested_aligner({"seq_regions": [], "aligner": "famsa"}) == "famsa"
    assert requested_aligner([{"unique_entry_id": "x"}]) is None
    with pytest.raises(RequestValidationError, match="'muscle' is not an aligner: 'clustalo' or 'famsa'") as refused:
        requested_aligner({"seq_regions": [], "aligner": "muscle"})
    assert refused.value.problems[0].field == "aligner"
