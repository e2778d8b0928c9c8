"""Clustal Omega against FAMSA on the same proteins, in one run on this machine (issue 29).

    .venv/bin/python benchmarks/aligners.py [--cases 3x2000,3x4000,3x8000,10x4000,50x1000,200x400]
                                            [--substitutions 0.03] [--threads 1,2] [--json]

For each case NxL: N proteins of about L residues, one family (a random root and copies with
``--substitutions`` of their residues changed and a few short indels, seeded), written as the
alignment input. The default cases are docs/benchmarks.md's table (issue 29).
Each aligner runs in a process of its own, one thread, as the pipeline runs it
(``pavi clustalo --aligner ...``); its wall time and peak memory (the process's maximum resident
set) are measured. Reported: each figure, and FAMSA's speed-up (Clustal Omega's time over
FAMSA's) and memory ratio. With ``--threads 1,2`` each aligner runs at each thread count (interleaved,
so that the machine's drift hits both alike) and its speed-up with threads is reported: the
measurement behind :data:`pavi.domain.alignment_model.PARALLEL_FRACTION`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from process_peak import run_measured  # noqa: E402

AMINO = "ACDEFGHIKLMNPQRSTVWY"
PAVI = str(Path(sys.executable).with_name("pavi"))


def family(count: int, length: int, substitutions: float, seed: int = 29) -> str:
    rng = random.Random(seed)
    root = "M" + "".join(rng.choice(AMINO) for _ in range(length - 1))
    records = []
    for index in range(count):
        residues = list(root)
        for position in range(1, len(residues)):
            if rng.random() < substitutions:
                residues[position] = rng.choice(AMINO)
        for _ in range(rng.randrange(3)):  # a few short indels
            at = rng.randrange(1, len(residues) - 5)
            if rng.random() < 0.5:
                del residues[at : at + rng.randrange(1, 4)]
            else:
                residues[at:at] = [rng.choice(AMINO) for _ in range(rng.randrange(1, 4))]
        records.append(f">p{index}\n{''.join(residues)}\n")
    return "".join(records)


def one(aligner: str, source: Path, folder: Path, threads: int = 1) -> dict[str, float]:
    """One alignment in a process of its own, as the pipeline runs it: seconds and peak MiB."""
    command = [PAVI, "clustalo", str(source), "--out", str(folder / f"{aligner}.aln"), "--threads", str(threads)]
    ran = run_measured([*command, "--aligner", aligner], f"{aligner} on {source.name}")
    return {"seconds": round(ran["seconds"], 2), "peak_mib": round(ran["peak_mib"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="3x2000,3x4000,3x8000,10x4000,50x1000,200x400")
    parser.add_argument("--substitutions", type=float, default=0.03)
    parser.add_argument(
        "--aligners",
        default="clustalo,famsa",
        help="which to run (a titin case: famsa only; Clustal Omega needs ~64 GiB)",
    )
    parser.add_argument("--threads", default="1", help="thread counts to run each aligner with, e.g. 1,2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    threads = [int(count) for count in args.threads.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pavi-aligners-") as scratch:
        folder = Path(scratch)
        for case in args.cases.split(","):
            count, length = (int(part) for part in case.split("x"))
            source = folder / f"input-{case}.fa"
            source.write_text(family(count, length, args.substitutions))
            ran = {aligner: one(aligner, source, folder) for aligner in args.aligners.split(",")}
            row: dict[str, object] = {"case": case, **ran}
            for count in threads[1:]:
                for aligner in args.aligners.split(","):
                    more = one(aligner, source, folder, count)
                    row[f"{aligner}_{count}_threads"] = more
                    row[f"{aligner}_speedup_{count}_threads"] = round(
                        ran[aligner]["seconds"] / max(more["seconds"], 0.01), 2
                    )
            if {"clustalo", "famsa"} <= set(ran):
                row["famsa_speedup"] = round(ran["clustalo"]["seconds"] / max(ran["famsa"]["seconds"], 0.01), 1)
            rows.append(row)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'case':>9}  {'Clustal Omega':>16}  {'FAMSA':>16}  speed-up")
    for row in rows:
        cells = []
        for aligner in ("clustalo", "famsa"):
            figures = row.get(aligner)
            cells.append(
                f"{figures['seconds']:>7.2f}s {figures['peak_mib']:>6.0f}M"
                if isinstance(figures, dict)
                else "-".rjust(16)
            )
        speedup = f"{row['famsa_speedup']:>6.1f}x" if "famsa_speedup" in row else "-"
        with_threads = "  ".join(
            f"{key.split('_')[0]} x{value} on {key.split('_')[2]} threads"
            for key, value in row.items()
            if "_speedup_" in key
        )
        print(f"{row['case']:>9}  {cells[0]}  {cells[1]}  {speedup}  {with_threads}")


if __name__ == "__main__":
    main()
