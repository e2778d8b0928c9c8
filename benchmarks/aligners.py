"""Clustal Omega against FAMSA on the same proteins, in one run on this machine (issue 29).

    .venv/bin/python benchmarks/aligners.py [--sizes 25,100,200] [--length 370] [--json]

For each size N: N proteins of about ``--length`` residues, one family (a random root and
copies with 15% substitutions and a few short indels, seeded), written as the alignment input.
Each aligner runs in a process of its own, one thread, as the pipeline runs it
(``pavi clustalo --aligner ...``); its wall time and peak memory (the process's maximum resident
set) are measured. Reported: each figure, and FAMSA's speed-up (Clustal Omega's time over
FAMSA's) and memory ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AMINO = "ACDEFGHIKLMNPQRSTVWY"
PAVI = str(Path(sys.executable).with_name("pavi"))


def family(count: int, length: int, seed: int = 29) -> str:
    rng = random.Random(seed)
    root = "M" + "".join(rng.choice(AMINO) for _ in range(length - 1))
    records = []
    for index in range(count):
        residues = list(root)
        for position in range(1, len(residues)):
            if rng.random() < 0.15:
                residues[position] = rng.choice(AMINO)
        for _ in range(rng.randrange(3)):  # a few short indels
            at = rng.randrange(1, len(residues) - 5)
            if rng.random() < 0.5:
                del residues[at : at + rng.randrange(1, 4)]
            else:
                residues[at:at] = [rng.choice(AMINO) for _ in range(rng.randrange(1, 4))]
        records.append(f">p{index}\n{''.join(residues)}\n")
    return "".join(records)


def one(aligner: str, source: Path, folder: Path) -> dict[str, float]:
    """One alignment in a process of its own: seconds, and the peak MiB of that process and the
    processes it waited for (``wait4``'s own account, this child's only)."""
    import os

    command = [PAVI, "clustalo", str(source), "--out", str(folder / f"{aligner}.aln"), "--threads", "1"]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "--aligner", aligner], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{aligner} failed on {source.name} (exit {process.returncode})")
    return {"seconds": round(seconds, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,100,200")
    parser.add_argument("--length", type=int, default=370)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pavi-aligners-") as scratch:
        folder = Path(scratch)
        for size in (int(s) for s in args.sizes.split(",")):
            source = folder / f"input-{size}.fa"
            source.write_text(family(size, args.length))
            famsa, clustalo = one("famsa", source, folder), one("clustalo", source, folder)
            rows.append(
                {
                    "sequences": size,
                    "clustalo": clustalo,
                    "famsa": famsa,
                    "famsa_speedup": round(clustalo["seconds"] / max(famsa["seconds"], 0.01), 1),
                }
            )
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'sequences':>9}  {'Clustal Omega':>16}  {'FAMSA':>16}  speed-up")
    for row in rows:
        c, f = row["clustalo"], row["famsa"]
        print(
            f"{row['sequences']:>9}  {c['seconds']:>7.2f}s {c['peak_mib']:>6.0f}M  "
            f"{f['seconds']:>7.2f}s {f['peak_mib']:>6.0f}M  {row['famsa_speedup']:>6.1f}x"
        )


if __name__ == "__main__":
    main()
