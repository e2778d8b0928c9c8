"""``pavi report DIR``: a job's picture (``alignment.svg``, ``alignment.png``) and page
(``report.html``) from its results folder (issue 31); ``pavi run`` writes them after each job."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_report(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not (folder / "job-report.json").is_file():
        print(f"pavi report: {folder} holds no job-report.json (a pavi run results folder)", file=sys.stderr)
        return 2
    from pavi.domain.job_page import write_page

    written, seconds = write_page(folder, args.scheme)
    print(f"pavi report: wrote {', '.join(str(folder / name) for name in written)} in {seconds:.1f}s", file=sys.stderr)
    return 0


def add_page_command(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write a job's picture (alignment.svg, .png) and page (report.html) into its results folder",
        description="The alignment drawn with its variants marked, and a self-contained page of the job: picture, "
        "variant table, alignment, identity heat map, guide tree, provenance and failures.",
    )
    report.add_argument("folder", help="a job's results folder (pavi run's --out)")
    report.add_argument("--scheme", choices=["Clustal", "Identity"], default="Clustal", help="the residues' colours")
    report.set_defaults(handler=cmd_report)
