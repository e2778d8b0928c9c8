"""`pavi run`: the unmodified state machine on this machine, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from Bio.SeqIO.FastaIO import SimpleFastaParser

from pavi.domain.alignment import parse_clustal
from pavi.domain.request import parse_job

PAVI = str(Path(sys.executable).with_name("pavi"))
DEMO = Path(__file__).resolve().parents[2] / "demo"


def pavi_run(payload: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PAVI, "run", str(payload), "--out", str(out)], capture_output=True, text=True, timeout=600)


def test_the_51_conformance_cases_through_the_state_machine(
    tmp_path: Path, genbank_payload: list[dict[str, Any]], genbank_expected: dict[str, str]
) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"seq_regions": genbank_payload}))
    done = pavi_run(payload, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    by_entry = {}
    for fasta in sorted((out / "sequences").glob("*-protein.fa")):
        with fasta.open() as handle:
            (record,) = list(SimpleFastaParser(handle))
        by_entry[fasta.name.removesuffix("-protein.fa")] = (record[0].split()[0], record[1])
    assert len(by_entry) == 51
    names = {e.unique_entry_id: e.base_seq_name for e in parse_job(genbank_payload).seq_regions}  # HLA_A, HLA_A_2
    for entry in genbank_payload:
        name, protein = by_entry[str(entry["unique_entry_id"])]
        assert (name, protein) == (names[entry["unique_entry_id"]], genbank_expected[str(entry["unique_entry_id"])])
    clustal = (out / "alignment-output.aln").read_text()
    first_block = clustal.split("\n\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len([line for line in first_block if not line.startswith(" ")]) == 51  # every sequence is aligned
    aligned = parse_clustal(clustal)  # every name is one entry's (issue 14, item 11)
    assert set(aligned) == {name for name, _ in by_entry.values()} and len(aligned) == 51
    for name, row in aligned.items():
        assert row.replace("-", "") in {protein for n, protein in by_entry.values() if n == name}
    report = json.loads((out / "job-report.json").read_text())
    assert report["status"] == "completed" and report["counts"]["sequences"] == 51
    assert "retrieval: 51 of 51 entries done" in done.stderr
    assert "job completed" in (out / "run.log").read_text()
    assert f"results: {out}/" in done.stderr


def test_the_upstream_failure_payload_ends_failed_naming_the_entry(
    tmp_path: Path, conformance: Path, genbank_payload: list[dict[str, Any]]
) -> None:
    """api-payload-failure.json adapted to local data: its first entry's sequence is not in
    the genome; its second (a yeast gene, not in the local genome) becomes a local case."""
    entries = json.loads((conformance / "pavi-upstream" / "api-payload-failure.json").read_text())
    entries[0]["fasta_file_url"] = genbank_payload[0]["fasta_file_url"]
    entries[1] = genbank_payload[0]
    payload = tmp_path / "failure.json"
    payload.write_text(json.dumps(entries))
    done = pavi_run(payload, tmp_path / "out")
    assert done.returncode == 1, done.stderr
    assert "EntriesFailed" in done.stderr and "C54H2.5.1" in done.stderr and "FAILURE_TEST_SEQ_ID" in done.stderr
    report = json.loads((tmp_path / "out" / "job-report.json").read_text())
    assert report["status"] == "failed"
    assert [f["unique_entry_id"] for f in report["failed_entries"]] == ["C54H2.5.1"]
    assert not (tmp_path / "out" / "alignment-output.aln").exists()
    # issue 23, item 8: the interpreter's own lines go to run.log, not to the user's terminal
    assert "moto." not in done.stderr and "Exception=" not in done.stderr, done.stderr
    log = (tmp_path / "out" / "run.log").read_text()
    assert "# the local interpreter's messages" in log and "moto.stepfunctions" in log


def test_the_upstream_invalid_payload_exits_2_listing_every_problem(tmp_path: Path, conformance: Path) -> None:
    done = pavi_run(conformance / "pavi-upstream" / "api-payload-invalid.json", tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert "the request is invalid" in done.stderr
    for problem in (
        "entry 0, unique_entry_id",
        "entry 0, fasta_file_url",
        "entry 1, unique_entry_id",
        "entry 1, base_seq_name",
    ):
        assert problem in done.stderr, problem


def test_an_unreadable_payload_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("[{")
    done = pavi_run(tmp_path / "broken.json", tmp_path / "out")
    assert done.returncode == 1 and "cannot read the payload" in done.stderr


def test_pavi_run_and_pavi_serve_work_from_another_folder(tmp_path: Path) -> None:
    """Issue 23, item 6: the checkout was looked up one level too shallow (src/, not the
    checkout), so both stopped with 'template.yaml not found' outside the checkout."""
    from support.serve import pavi_serve

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PAVI_PROJECT_ROOT"}
    done = subprocess.run(
        [PAVI, "run", str(DEMO / "payload.json"), "--out", str(tmp_path / "out")],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "alignment-output.aln").read_text().startswith("CLUSTAL O(1.2.4)")
    with pavi_serve(cwd=elsewhere) as served:
        assert served.request("/api/health")[0] == 200


def test_pavi_run_builds_its_job_from_a_genome_an_annotation_and_a_vcf(tmp_path: Path, conformance: Path) -> None:
    """Issue 30: the files a genome project publishes, to a finished alignment in one command:
    pavi run takes pavi job's options; the variant's alternative protein is aligned beside its
    reference, and the per-entry files of pavi retrieve are in the results."""
    import pysam

    genbank = conformance / "genbank"
    with pysam.FastaFile(str(genbank / "genome.fa.gz")) as fasta:
        base = fasta.fetch("HLA00001", 599, 600)
    vcf = tmp_path / "calls.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=HLA00001,length=3503>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"HLA00001\t600\trs600\t{base}\t{'C' if base != 'C' else 'T'}\t.\tPASS\t.\n"
    )
    pysam.tabix_compress(str(vcf), str(vcf) + ".gz")
    out = tmp_path / "out"
    annotation = str(genbank / "transcripts.gff3")
    command = [PAVI, "run", "--genome", str(genbank / "genome.fa.gz"), "--annotation", annotation,
               "--select", "HLA00001_HLA_A", "AB000050_capsid_protein_2_BAA19011.1", "--variants", f"{vcf}.gz",
               "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    names = sorted(parse_clustal((out / "alignment-output.aln").read_text()))
    assert names == ["HLA_A_ref", "HLA_A_rs600", "capsid_protein_2_BAA19011.1"], names
    assert (out / "sequences" / "HLA00001_HLA_A__rs600-seqinfo.json").is_file()
    assert Path(f"{vcf}.gz.tbi").is_file()  # the VCF's missing index was made
    refused = subprocess.run([PAVI, "run", "--genome", str(genbank / "genome.fa.gz")], capture_output=True, text=True)
    assert refused.returncode == 2 and "--annotation" in refused.stderr
