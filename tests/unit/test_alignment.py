"""Alignment input, Clustal Omega, alignment columns and the merged sequence info (SPEC section 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from pavi.domain.alignment import (
    AlignmentError,
    align_with_tree,
    aligned_seq_info,
    alignment_column,
    format_single_clustal,
    parse_clustal,
    prepare_input,
    residue_columns,
    run_clustalo,
)
from pavi.domain.request import parse_job

PAVI = str(Path(sys.executable).parent / "pavi")
# Clustal Omega comes from Debian's clustalo, which scripts/setup.sh installs: no test here skips without it.


def test_conformance_vector_byte_for_byte(conformance: Path) -> None:
    folder = conformance / "pavi-upstream"
    produced = run_clustalo((folder / "alignment-input-seqs.fa").read_text(), threads=2)
    assert produced == (folder / "alignment-expected-output.aln").read_text()


@pytest.mark.parametrize("length", [8, 60, 61, 135])
def test_single_sequence_file_has_clustal_omegas_layout(tmp_path: Path, length: int) -> None:
    """Clustal Omega refuses one sequence; two copies of it (names of one length), the second's
    rows dropped, are the reference layout."""
    sequence = ("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ" * 5)[:length]
    pair = run_clustalo(f">seq_1\n{sequence}\n>seq_2\n{sequence}\n", threads=1)
    expected = "".join(line for line in pair.splitlines(keepends=True) if not line.startswith("seq_2"))
    assert format_single_clustal("seq_1", sequence) == expected
    assert run_clustalo(f">seq_1\n{sequence}\n") == expected


def test_the_guide_tree_leaves_the_alignment_byte_identical(genbank_expected: dict[str, str]) -> None:
    """--guidetree-out in the same run: the Clustal file is the one made without it (20 of the
    conformance proteins here; all 51 and the previous PAVI's vector in the stack tests)."""
    fasta = "".join(f">p{i}\n{protein}\n" for i, protein in enumerate(sorted(genbank_expected.values())[:20]))
    clustal, tree = align_with_tree(fasta, threads=1)
    alone = subprocess.run(
        ["clustalo", "-i", "-", "--outfmt=clustal", "--resno", "--threads=1"],
        input=fasta,
        capture_output=True,
        text=True,
    )
    assert clustal == alone.stdout
    assert tree.rstrip().endswith(";") and all(f"p{i}:" in tree for i in range(20))
    assert align_with_tree(">solo\nMKV\n")[1] == "solo;\n"


def test_no_sequence_is_an_error() -> None:
    with pytest.raises(AlignmentError, match="no sequence to align"):
        run_clustalo("")


def test_clustalo_failure_surfaces_its_message(tmp_path: Path) -> None:
    fake = tmp_path / "clustalo-fails"
    fake.write_text("#!/bin/sh\necho 'FATAL: something Clustal Omega said' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(AlignmentError, match="Clustal Omega failed: FATAL: something Clustal Omega said"):
        run_clustalo(">a\nMK\n>b\nMR\n", executable=str(fake))


ALIGNMENT = """CLUSTAL O(1.2.4) multiple sequence alignment


ref      --MKT-AYIAK	8
alt      MMMK--AY-AK	8
         *:  :

ref      QR	10
alt      Q-	9
"""


def test_parse_clustal_and_residue_columns() -> None:
    aligned = parse_clustal(ALIGNMENT)
    assert aligned == {"ref": "--MKT-AYIAKQR", "alt": "MMMK--AY-AKQ-"}
    assert residue_columns(aligned["ref"]) == [3, 4, 5, 7, 8, 9, 10, 11, 12, 13]
    assert residue_columns(aligned["alt"]) == [1, 2, 3, 4, 7, 8, 10, 11, 12]


@pytest.mark.parametrize(
    ("position", "column"),
    [
        (1, 3),  # the first residue, after leading gaps
        (3, 5),
        (4, 7),  # after a gap inside the sequence
        (10, 13),  # the last residue, in the last column
    ],
)
def test_alignment_column_of_residues(position: int, column: int) -> None:
    assert alignment_column(residue_columns("--MKT-AYIAKQR"), position, 13) == column


def test_one_past_the_last_residue_is_the_next_column_or_the_last() -> None:
    assert alignment_column(residue_columns("MMMK--AY-AKQ-"), 10, 13) == 13
    assert alignment_column(residue_columns("--MKT-AYIAKQR"), 11, 13) == 13
    with pytest.raises(AlignmentError, match=r"residue 4 is outside the sequence \(length 2\)"):
        alignment_column(residue_columns("MK--"), 4, 4)


def variant(seq_start: int, seq_end: int, **extra: Any) -> dict[str, Any]:
    return {"variant_id": "v", "seq_start_pos": seq_start, "seq_end_pos": seq_end, **extra}


def test_aligned_seq_info_adds_columns_and_sorts_keys() -> None:
    seqinfo = {
        "e2": {"ref": {}, "alt": {"embedded_variants": [variant(2, 3), variant(8, 9, kind="deletion")]}},
        "e1": {"zz": {"error": "No open reading frames found"}},
    }
    merged = aligned_seq_info(seqinfo, parse_clustal(ALIGNMENT))
    assert list(merged) == ["alt", "ref", "zz"]
    alt = merged["alt"]["embedded_variants"]
    assert (alt[0]["alignment_start_pos"], alt[0]["alignment_end_pos"]) == (2, 3)
    # residues 8 and 9 of alt sit in columns 10 and 11, around the gap at column 9
    assert (alt[1]["alignment_start_pos"], alt[1]["alignment_end_pos"]) == (11, 12)
    assert list(alt[1]) == sorted(alt[1])
    assert merged["zz"] == {"error": "No open reading frames found"}
    assert "alignment_start_pos" not in seqinfo["e2"]["alt"]["embedded_variants"][0]  # input untouched


def write_entry_files(folder: Path, entry_id: str, proteins: dict[str, str], info: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entry_id}-protein.fa").write_text("".join(f">{n}\n{p}\n" for n, p in proteins.items()))
    (folder / f"{entry_id}-seqinfo.json").write_text(json.dumps(info))


def test_prepare_input_orders_by_file_name_and_separates_failures(tmp_path: Path) -> None:
    write_entry_files(tmp_path, "b", {"B": "MKT"}, {"B": {}})
    write_entry_files(tmp_path, "a", {"A_ref": "MKV"}, {"A_ref": {}, "A_alt": {"error": "start codon lost"}})
    prepared = prepare_input(str(tmp_path))
    assert prepared.fasta == ">A_ref\nMKV\n>B\nMKT\n"
    assert prepared.can_align and prepared.failed == []
    assert [f.to_dict() for f in prepared.alternative_errors] == [
        {"unique_entry_id": "a", "sequence_name": "A_alt", "error": "start codon lost"}
    ]
    write_entry_files(tmp_path, "c", {}, {"C": {"error": "sequence 'X' is not in the FASTA"}})
    prepared = prepare_input(str(tmp_path), expected_entries=["a", "b", "c", "d"])
    assert not prepared.can_align
    assert [(f.entry_id, f.error) for f in prepared.failed] == [
        ("c", "sequence 'X' is not in the FASTA"),
        ("d", "its retrieval did not finish (no seqinfo file)"),
    ]


def test_pavi_align_on_the_51_conformance_entries(
    tmp_path: Path, genbank_payload: list[dict[str, Any]], genbank_expected: dict[str, str]
) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(genbank_payload))
    assert subprocess.run([PAVI, "retrieve", str(payload), "--out", str(tmp_path / "seq"), "-q"]).returncode == 0
    done = subprocess.run(
        [PAVI, "align", str(tmp_path / "seq"), "--out", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    clustal = (tmp_path / "out" / "alignment-output.aln").read_text()
    assert clustal.startswith("CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n")
    first_block = clustal.split("\n\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(first_block) == 51 + 1  # 51 sequence rows and the conservation row
    aligned = parse_clustal(clustal)
    # the two entries named HLA_A are two rows: the second is HLA_A_2 (issue 14, item 11)
    by_name = {e.base_seq_name: e.unique_entry_id for e in parse_job(genbank_payload).seq_regions}
    assert len(by_name) == len(aligned) == 51 and {"HLA_A", "HLA_A_2"} <= set(by_name)
    for name, row in aligned.items():
        assert row.replace("-", "") == genbank_expected[by_name[name]]
    info = json.loads((tmp_path / "out" / "aligned_seq_info.json").read_text())
    assert set(info) == set(by_name)
    assert (tmp_path / "out" / "alignment-input.fa").read_text().count(">") == 51


def test_pavi_align_refuses_a_job_with_a_failed_reference(tmp_path: Path) -> None:
    write_entry_files(tmp_path / "seq", "a", {"A": "MKV"}, {"A": {}})
    write_entry_files(tmp_path / "seq", "b", {}, {"B": {"error": "sequence 'FAILURE_TEST_SEQ_ID' is not in the FASTA"}})
    done = subprocess.run(
        [PAVI, "align", str(tmp_path / "seq"), "--out", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "b B: sequence 'FAILURE_TEST_SEQ_ID' is not in the FASTA" in done.stderr
    report = json.loads((tmp_path / "out" / "job-report.json").read_text())
    assert report["status"] == "failed" and report["failed_entries"][0]["unique_entry_id"] == "b"
    assert not (tmp_path / "out" / "alignment-output.aln").exists()


def test_pavi_align_from_s3_to_s3_as_the_job_definition_runs_it(moto_s3: dict[str, str], conformance: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pavi-work")
    records = (conformance / "pavi-upstream" / "alignment-input-seqs.fa").read_text().split(">")[1:]
    for number, record in enumerate(records):
        name = record.split("\n", 1)[0]
        s3.put_object(Bucket="pavi-work", Key=f"jobs/j1/sequences/e{number:03d}-protein.fa", Body=">" + record)
        s3.put_object(
            Bucket="pavi-work", Key=f"jobs/j1/sequences/e{number:03d}-seqinfo.json", Body=json.dumps({name: {}})
        )
    done = subprocess.run(
        [PAVI, "align", "s3://pavi-work/jobs/j1/sequences/", "--out", "s3://pavi-work/jobs/j1/results/"],
        capture_output=True,
        text=True,
        env={**os.environ, **moto_s3},
    )
    assert done.returncode == 0, done.stderr
    produced = s3.get_object(Bucket="pavi-work", Key="jobs/j1/results/alignment-output.aln")["Body"].read()
    assert produced == (conformance / "pavi-upstream" / "alignment-expected-output.aln").read_bytes()
    info = json.loads(s3.get_object(Bucket="pavi-work", Key="jobs/j1/results/aligned_seq_info.json")["Body"].read())
    assert len(info) == len(records)


def test_pavi_clustalo_the_alignment_job_command_from_s3_to_s3(moto_s3: dict[str, str], conformance: Path) -> None:
    """The alignment Batch job runs ``pavi clustalo s3://.../alignment-input.fa --out s3://.../alignment-output.aln``."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pavi-work")
    source = conformance / "pavi-upstream" / "alignment-input-seqs.fa"
    s3.put_object(Bucket="pavi-work", Key="results/j1/alignment-input.fa", Body=source.read_bytes())
    command = ["clustalo", "s3://pavi-work/results/j1/alignment-input.fa"]
    done = subprocess.run(
        [PAVI, *command, "--out", "s3://pavi-work/results/j1/alignment-output.aln"],
        capture_output=True,
        text=True,
        env={**os.environ, **moto_s3, "PAVI_ALIGN_THREADS": "2"},
    )
    assert done.returncode == 0, done.stderr
    produced = s3.get_object(Bucket="pavi-work", Key="results/j1/alignment-output.aln")["Body"].read()
    assert produced == (conformance / "pavi-upstream" / "alignment-expected-output.aln").read_bytes()
    missing = subprocess.run(
        [PAVI, "clustalo", "s3://pavi-work/results/nope/alignment-input.fa", "--out", "s3://pavi-work/x.aln"],
        capture_output=True,
        text=True,
        env={**os.environ, **moto_s3},
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr
