"""What the picture and the page add to a job's collection (issue 31): 25 and 1,000 sequences.

    .venv/bin/python benchmarks/job_page.py [--json] [--screenshots docs/images]

For each size, a synthetic job's results (a family of 400-residue proteins, 5% substituted, one
variant; its variant table, identity matrix and guide tree) are written; then, each in a fresh
process (its time and peak resident memory), the collection's own views of the alignment
(``pavi.domain.alignment_outputs``: the other formats, the identity matrix, as the collection
step writes them) and the picture and page (``pavi.domain.job_page.write_page``). Reported: each
one's seconds and peak MiB, and the page's as a ratio to the views'.

With ``--screenshots DIR`` (docs/images), headless Chromium also takes the screenshots of the
docs: the demo job's page (``pavi run demo/payload.json``), the 1,000-sequence job's and a page
past :data:`pavi.domain.job_page.FULL_CELLS` (its overview).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from process_peak import run_measured  # noqa: E402

VIEWS = """
import sys
from pathlib import Path
from pavi.domain.alignment_outputs import ParsedAlignment, formats, identity_matrix_tsv
clustal = Path(sys.argv[1], "alignment-output.aln").read_text()
parsed = ParsedAlignment.from_clustal(clustal)
formats(parsed, clustal)
identity_matrix_tsv(parsed)
"""
PAGE = (
    "import sys\nfrom pathlib import Path\nfrom pavi.domain.job_page import write_page\nwrite_page(Path(sys.argv[1]))"
)


def measured(code: str, folder: Path) -> dict[str, float]:
    ran = run_measured([sys.executable, "-c", code, str(folder)], f"the measure on {folder}",
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})  # fmt: skip
    return {"seconds": round(ran["seconds"], 2), "peak_mib": round(ran["peak_mib"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--screenshots", type=Path, metavar="DIR")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "src"))
    from unit.test_job_page import large_results

    rows = []
    with tempfile.TemporaryDirectory(prefix="pavi-page-") as scratch:
        for sequences in (25, 1000):
            folder = Path(scratch, str(sequences))
            folder.mkdir()
            large_results(folder, sequences, views=True)
            views, page = measured(VIEWS, folder), measured(PAGE, folder)
            rows.append({"sequences": sequences, "views": views, "page": page,
                         "ratio": round(page["seconds"] / views["seconds"], 2),
                         "picture": (folder / "alignment.png").exists()})  # fmt: skip
        if args.screenshots:
            screenshots(Path(scratch), args.screenshots)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for row in rows:
        print(
            f"{row['sequences']:>5} sequences: views {row['views']['seconds']} s ({row['views']['peak_mib']} MiB), "
            f"picture and page {row['page']['seconds']} s ({row['page']['peak_mib']} MiB): {row['ratio']}x "
            f"the views' time{'' if row['picture'] else ' (past the picture bound: the page only)'}"
        )


def screenshots(scratch: Path, into: Path) -> None:
    """The docs' screenshots of the demo's page, the 1,000-sequence job's (``scratch/1000``) and
    an overview's, into ``into``."""
    from unit.test_job_page import chromium, large_results

    from pavi.domain.job_page import FULL_CELLS, write_page

    demo = scratch / "demo"
    pavi = str(Path(sys.executable).with_name("pavi"))
    run_measured([pavi, "run", str(REPO / "demo" / "payload.json"), "--out", str(demo)], "the demo job")
    overview = scratch / "overview"
    overview.mkdir()
    write_page(large_results(overview, 1000, FULL_CELLS // 1000 + 1, views=True))
    into.mkdir(parents=True, exist_ok=True)
    for folder, name in ((demo, "demo-job-page.png"), (scratch / "1000", "large-job-page.png"),
                         (overview, "overview-job-page.png")):  # fmt: skip
        chromium(folder / "report.html", into / name)
        print(f"screenshot: {into / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
