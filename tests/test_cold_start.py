"""Cold start: no heavy import on the handlers' import path (the benchmark measures the times)."""

from __future__ import annotations

from support.benchmarks import load_benchmark

cold_start = load_benchmark("cold_start")


def test_no_handler_imports_biopython_numpy_or_pysam_when_loaded() -> None:
    results = cold_start.measure(runs=1)
    assert set(results) == {
        "ValidateFunction",
        "RetrieveFunction",
        "AlignFunction",
        "PrepareAlignmentFunction",
        "CollectResultsFunction",
        "RecordFailureFunction",
        "ApiFunction",
        "PictureFunction",
    }
    for name, result in results.items():
        assert result["heavy_modules_at_import"] == [], name
        assert result["import_ms_median"] > 0
    assert results["CollectResultsFunction"]["first_call_alignment_import_ms_median"] > 0
