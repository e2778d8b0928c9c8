"""Cold start of each Lambda: the import time of its handler module in a fresh interpreter.

    .venv/bin/python benchmarks/cold_start.py [--runs 9] [--json]

For each function of template.yaml: the median (and min/max) over ``--runs`` fresh
interpreters of ``import app`` with the function's folder and ``src/`` on the path (what
the Lambda runtime does with the code and the layer), the heavy modules that import
brought in (Biopython, numpy, pysam), and, for the steps that align, the first call's
lazy import of ``pavi.domain.alignment``. Targets (issue 7): the API and validation under
300 ms, the collection under 1.5 s; no heavy import on the API's path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pavi.local.template import StackModel  # noqa: E402

HEAVY = ("Bio", "numpy", "pysam")
PROBE = """
import sys, time, json
sys.path[:0] = [{code!r}, {src!r}]
started = time.perf_counter()
import app
imported = time.perf_counter() - started
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
lazy = None
if {lazy!r}:
    started = time.perf_counter()
    import pavi.domain.alignment
    lazy = time.perf_counter() - started
print(json.dumps({{"import_ms": imported * 1000, "lazy_ms": lazy and lazy * 1000, "heavy": heavy}}))
"""
LAZY_ALIGNMENT = {"PrepareAlignmentFunction", "CollectResultsFunction"}


def measure(runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, spec in StackModel.load(REPO).functions().items():
        probe = PROBE.format(code=str(spec.code_dir), src=str(REPO / "src"), lazy=name in LAZY_ALIGNMENT, heavy=HEAVY)
        samples = []
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
            samples.append(json.loads(done.stdout))
        imports = [s["import_ms"] for s in samples]
        lazies = [s["lazy_ms"] for s in samples if s["lazy_ms"] is not None]
        results[name] = {
            "import_ms_median": round(statistics.median(imports), 1),
            "import_ms_min": round(min(imports), 1),
            "import_ms_max": round(max(imports), 1),
            "first_call_alignment_import_ms_median": round(statistics.median(lazies), 1) if lazies else None,
            "heavy_modules_at_import": samples[0]["heavy"],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'function':<28} {'import ms (median, min-max)':>28} {'+ pavi.domain.alignment ms':>20}  heavy at import")
    for name, r in results.items():
        lazy = r["first_call_alignment_import_ms_median"]
        print(
            f"{name:<28} {r['import_ms_median']:>12.0f} ({r['import_ms_min']:.0f}-{r['import_ms_max']:.0f})"
            f"{'':>6} {'' if lazy is None else f'{lazy:.0f}':>20}  {', '.join(r['heavy_modules_at_import']) or '-'}"
        )


if __name__ == "__main__":
    main()
