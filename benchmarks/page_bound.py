"""How large a job's page may be drawn in full and still open in a browser in under 2 s (issue 31):
the measure behind :data:`pavi.domain.job_page.FULL_CELLS`.

    .venv/bin/python benchmarks/page_bound.py [--json] [--repeat N]

For each size (sequences x columns), a synthetic job's results (``large_results`` of
``tests/unit/test_job_page.py``: related 20-letter proteins, one variant) are made into a page
drawn in full whatever its size (the alignment as text, every block; no picture, which past
:data:`pavi.domain.picture.PICTURE_CELLS` the page has not), and headless Chromium opens it and
takes a screenshot, as the tests do. Reported: the page's size and the seconds it took to open,
less the seconds Chromium takes for a 2-sequence, 20-column page (its own start), the median of ``--repeat``
runs; and the largest size that opened in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = ((25, 400), (250, 800), (1000, 800), (2000, 1600), (4000, 1600), (4000, 3200), (8000, 3200))
BUDGET = 2.0  # seconds (issue 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "src"))
    from unit.test_job_page import CHROMIUM, chromium, large_results

    from pavi.domain import job_page
    from pavi.domain.alignment import parse_clustal

    if CHROMIUM is None:
        sys.exit("Chromium is needed (Debian's chromium package)")
    bound, job_page.FULL_CELLS = job_page.FULL_CELLS, 10**12  # every page in full: the bound is what this measures
    rows = []
    with tempfile.TemporaryDirectory(prefix="pavi-bound-") as scratch:
        root = Path(scratch)

        def page_of(sequences: int, columns: int) -> tuple[Path, int]:
            folder = root / f"{sequences}x{columns}"
            folder.mkdir()
            large_results(folder, sequences, columns)
            files = job_page.page_inputs(folder)
            text = job_page.page(files, None, parse_clustal(files["alignment-output.aln"]))
            (folder / "report.html").write_text(text)
            return folder / "report.html", len(text.encode())

        def opened(page: Path) -> float:
            return statistics.median(chromium(page, root / "shot.png")[1] for _ in range(args.repeat))

        empty = opened(page_of(2, 20)[0])
        for sequences, columns in SIZES:
            page, size = page_of(sequences, columns)
            seconds = opened(page) - empty
            rows.append({"sequences": sequences, "columns": columns, "cells": sequences * columns,
                         "page_bytes": size, "open_seconds": round(seconds, 2)})  # fmt: skip
    within = [row["cells"] for row in rows if row["open_seconds"] < BUDGET]
    result = {"empty_page_seconds": round(empty, 2), "pages": rows, "largest_under_budget": max(within, default=0),
              "full_cells": bound}  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"Chromium on a 2-sequence page: {empty:.2f} s (subtracted below)")
    for row in rows:
        print(f"{row['sequences']:>5} x {row['columns']:>5} = {row['cells']:>9,} cells: "
              f"{row['page_bytes'] / 1e6:6.2f} MB, opens in {row['open_seconds']:.2f} s")  # fmt: skip
    print(f"largest opening in under {BUDGET} s: {result['largest_under_budget']:,} cells "
          f"(job_page.FULL_CELLS: {bound:,})")  # fmt: skip


if __name__ == "__main__":
    main()
