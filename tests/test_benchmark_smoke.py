"""The ranged-reads benchmark still runs, and its bounds hold on a small genome."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ranged_reads_benchmark_small() -> None:
    spec = importlib.util.spec_from_file_location("ranged_reads", ROOT / "benchmarks" / "ranged_reads.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["ranged_reads"] = module
    spec.loader.exec_module(module)
    results = module.run(megabases=5, transcripts=8, bandwidth_mbps=0)
    pavi = results["pavi"]
    assert results["genome_mbp"] == 5, results
    assert pavi["bytes_per_transcript_max"] < 1_000_000, results
    assert pavi["transcripts_bytes_server_counted"] == pavi["transcripts_bytes_client_counted"], results
    # a 5 Mbp genome is ~1.9 MB bgzipped: ranged reads still cost far less than the download
    assert results["ratio_bytes_download_over_pavi_per_transcript"] > 20, results


def test_job_from_files_benchmark_small(tmp_path: Path) -> None:
    """Issue 30's benchmark on small files: the plain and the tabix-indexed annotation give the
    same 25 genes' request, with the VCF's variants in them."""
    import json

    from support.benchmarks import load_benchmark

    bench = load_benchmark("job_from_files")
    bench.generate(tmp_path, 24, 30_000, 50_000)
    names = [f"GENE{1 + i}_{i}" for i in range(24)] + ["GENE1_1"]
    rows = [bench.build(tmp_path, annotation, names) for annotation in ("genes.gff3", "genes.gff3.gz")]
    assert rows[0]["variants"] == rows[1]["variants"] > 25 and rows[0]["entries"] == rows[1]["entries"], rows
    request = json.loads((tmp_path / "request.json").read_text())["seq_regions"]
    assert {e["unique_entry_id"].split("__")[0] for e in request} == {f"T{1 + i}_{i}" for i in range(24)} | {"T1_1"}
