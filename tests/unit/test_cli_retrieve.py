"""``pavi retrieve`` as a process, run the way users and the Batch job definition run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser

from pavi.domain.request import parse_job

PAVI = str(Path(sys.executable).parent / "pavi")  # the console script, the images' ENTRYPOINT


def pavi(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PAVI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def read_fasta(path: Path) -> dict[str, str]:
    with path.open() as handle:
        return dict(SimpleFastaParser(handle))


@pytest.fixture
def local_genbank(tmp_path: Path, conformance: Path, genbank_payload: list[dict[str, Any]]) -> Path:
    """The 51 entries with a relative FASTA path, beside a copy of the genome."""
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(conformance / "genbank" / f"genome.fa.gz{suffix}", tmp_path)
    payload = [{**e, "fasta_file_url": "genome.fa.gz"} for e in genbank_payload]
    path = tmp_path / "payload.json"
    path.write_text(json.dumps({"seq_regions": payload}))
    return path


def test_retrieve_writes_every_entry(local_genbank: Path, tmp_path: Path, genbank_expected: dict[str, str]) -> None:
    out = tmp_path / "out"
    done = pavi("retrieve", str(local_genbank), "--out", str(out), "--workers", "4", cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr
    assert "retrieved 51 of 51 entries" in done.stderr
    assert "[51/51]" in done.stderr
    entries = parse_job(json.loads(local_genbank.read_text())).seq_regions
    for entry in entries:
        proteins = read_fasta(out / f"{entry.unique_entry_id}-protein.fa")
        assert proteins == {entry.base_seq_name: genbank_expected[entry.unique_entry_id]}
        info = json.loads((out / f"{entry.unique_entry_id}-seqinfo.json").read_text())
        assert info == {entry.base_seq_name: {}}
    assert len(list(out.iterdir())) == 2 * 51 + 1  # and the genomes it read (issue 21, provenance)
    (genomes,) = out.glob("*.genomes.json")
    assert list(json.loads(genomes.read_text())) == [str(tmp_path / "genome.fa.gz")]


def test_an_entry_failure_is_recorded_and_the_others_written(local_genbank: Path, tmp_path: Path) -> None:
    payload = json.loads(local_genbank.read_text())["seq_regions"][:3]
    payload[1] = {**payload[1], "seq_id": "FAILURE_TEST_SEQ_ID"}
    path = tmp_path / "three.json"
    path.write_text(json.dumps(payload))
    done = pavi("retrieve", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "1 failed" in done.stderr and "FAILURE_TEST_SEQ_ID" in done.stderr
    failed = payload[1]
    info = json.loads((tmp_path / "out" / f"{failed['unique_entry_id']}-seqinfo.json").read_text())
    assert "'FAILURE_TEST_SEQ_ID' is not in the FASTA" in info[failed["base_seq_name"]]["error"]
    assert (tmp_path / "out" / f"{failed['unique_entry_id']}-protein.fa").read_text() == ""
    for other in (payload[0], payload[2]):
        assert read_fasta(tmp_path / "out" / f"{other['unique_entry_id']}-protein.fa")


def test_invalid_payload_exits_2_with_every_problem(conformance: Path, tmp_path: Path) -> None:
    done = pavi("retrieve", str(conformance / "pavi-upstream" / "api-payload-invalid.json"), "--out", str(tmp_path))
    assert done.returncode == 2
    assert "entry 0, unique_entry_id: required, but missing" in done.stderr
    assert "entry 1, base_seq_name: required, but missing" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_unreadable_payload_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("[{")
    done = pavi("retrieve", str(tmp_path / "broken.json"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "cannot read the payload" in done.stderr
    done = pavi("retrieve", str(tmp_path / "absent.json"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1


def test_unwritable_output_exits_1(local_genbank: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    done = pavi("retrieve", str(local_genbank), "--out", str(blocker / "out"))
    assert done.returncode == 1 and "writing the results" in done.stderr


def test_single_entry_form_from_s3_to_s3(
    moto_s3: dict[str, str], conformance: Path, genbank_payload: list[dict[str, Any]], genbank_expected: dict[str, str]
) -> None:
    """The Batch job's command: one entry object in S3, the genome in S3, the results to S3."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pavi-work")
    for suffix in ("", ".fai", ".gzi"):
        s3.upload_file(str(conformance / "genbank" / f"genome.fa.gz{suffix}"), "pavi-work", f"g/genome.fa.gz{suffix}")
    entry = {**genbank_payload[2], "fasta_file_url": "s3://pavi-work/g/genome.fa.gz"}
    entry_id = entry["unique_entry_id"]
    s3.put_object(Bucket="pavi-work", Key=f"jobs/j1/entries/{entry_id}.json", Body=json.dumps(entry))
    done = pavi(
        "retrieve",
        f"s3://pavi-work/jobs/j1/entries/{entry_id}.json",
        "--out",
        "s3://pavi-work/jobs/j1/sequences/",
        env={**moto_s3, "PAVI_FASTA_ALLOWLIST": "s3://pavi-work"},
    )
    assert done.returncode == 0, done.stderr
    body = s3.get_object(Bucket="pavi-work", Key=f"jobs/j1/sequences/{entry_id}-protein.fa")["Body"].read().decode()
    assert "".join(body.splitlines()[1:]) == genbank_expected[entry_id]
    info = json.loads(
        s3.get_object(Bucket="pavi-work", Key=f"jobs/j1/sequences/{entry_id}-seqinfo.json")["Body"].read()
    )
    assert info == {entry["base_seq_name"]: {}}


def test_allow_list_refuses_a_bucket_not_listed(
    moto_s3: dict[str, str], tmp_path: Path, genbank_payload: list[dict[str, Any]]
) -> None:
    entry = {**genbank_payload[0], "fasta_file_url": "s3://somebody-else/genome.fa.gz"}
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(entry))
    done = pavi("retrieve", str(path), "--out", str(tmp_path / "out"), env={"PAVI_FASTA_ALLOWLIST": "s3://pavi-work"})
    assert done.returncode == 0
    info = json.loads((tmp_path / "out" / f"{entry['unique_entry_id']}-seqinfo.json").read_text())
    assert "not on the FASTA allow-list" in info[entry["base_seq_name"]]["error"]
