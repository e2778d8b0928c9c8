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
