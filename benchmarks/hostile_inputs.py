"""Two of issue 20's hostile inputs, measured in a child process each (CPU time, peak memory).

    .venv/bin/python benchmarks/hostile_inputs.py [--exons 14000] [--variants 9000] [--bomb-gib 3]
        [--src DIR] [--json]

- *large entry*: one entry of ``--exons`` 3-base exons (the first half its CDS, the rest
  its 3' UTR) and ``--variants`` inline SNVs, validated and retrieved (reference and
  alternative protein);
- *gzip bomb*: a bgzip FASTA whose last block inflates to ``--bomb-gib`` GiB of text (the
  file is about 3 MB per GiB), and one read of it.

``--src`` runs the measures with another checkout's ``src`` (the code before a change:
``git worktree add /tmp/before REV`` then ``--src /tmp/before/src``).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry
from pavi.domain.genome import IndexedFasta
what, argument = sys.argv[1], sys.argv[2]
started, cpu = time.monotonic(), time.process_time()
outcome = "ok"
if what == "entry":
    entry = parse_job(json.loads(open(argument).read())).seq_regions[0]
    validated = time.process_time() - cpu
    result = retrieve_entry(entry)
    outcome = {s.name: (len(s.protein) if s.protein else s.info.get("error", "")[:200]) for s in result.sequences}
else:
    validated = 0.0
    try:
        IndexedFasta(argument).fetch("chrZ", 1, 10)
    except Exception as error:
        outcome = f"{type(error).__name__}: {error}"[:200]
print(json.dumps({
    "cpu_seconds": round(time.process_time() - cpu, 2),
    "validation_cpu_seconds": round(validated, 2),
    "wall_seconds": round(time.monotonic() - started, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "outcome": outcome,
}))
"""


def bgzf_block(text: bytes) -> bytes:
    """One BGZF block (a gzip member with the BC extra field) holding ``text``."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(text) + deflater.flush()
    return _member(body, zlib.crc32(text), len(text))


def _member(body: bytes, crc: int, size: int) -> bytes:
    extra = b"BC" + struct.pack("<HH", 2, min(len(body) + 25, 0xFFFF))
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
    return header + body + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


def write_bomb(folder: Path, gib: float) -> str:
    """``bomb.fa.gz``: a header block, then one 'block' inflating to ``gib`` GiB of A."""
    header = b">chrZ\n"
    size = int(gib * 1024**3)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"A" * (64 * 1024 * 1024)
    body, crc, left = [], 0, size
    while left:
        piece = chunk[: min(left, len(chunk))]
        body.append(deflater.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    body.append(deflater.flush())
    first = bgzf_block(header)
    path = folder / "bomb.fa.gz"
    path.write_bytes(first + _member(b"".join(body), crc, size))
    (folder / "bomb.fa.gz.fai").write_text(f"chrZ\t{size}\t{len(header)}\t{size}\t{size + 1}\n")
    (folder / "bomb.fa.gz.gzi").write_bytes(struct.pack("<QQQ", 1, len(first), len(header)))
    return str(path)


def write_large_entry(folder: Path, exons: int, variants: int) -> str:
    """chrB (3-base exons 10 bases apart, introns of N: ATG, GCT, ..., TAA ending the CDS in
    the middle exon, GCT in the 3' UTR) and the payload of its one entry."""
    import pysam

    bases = ["N"] * (200 + 10 * exons)
    starts = [100 + 10 * i for i in range(exons)]
    last_coding = exons // 2 - 1
    for i, s in enumerate(starts):
        bases[s - 1 : s + 2] = "ATG" if i == 0 else ("TAA" if i == last_coding else "GCT")
    fasta = folder / "big.fa"
    text = "".join(bases)
    fasta.write_text(">chrB\n" + "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60)))
    pysam.tabix_compress(str(fasta), str(fasta) + ".gz", force=True)
    pysam.faidx(str(fasta) + ".gz")
    regions = [{"start": s, "end": s + 2} for s in starts]
    payload = [
        {
            "unique_entry_id": "big",
            "base_seq_name": "big",
            "seq_id": "chrB",
            "fasta_file_url": str(fasta) + ".gz",
            "exon_seq_regions": regions,
            "cds_seq_regions": [{**r, "frame": 0} for r in regions[: last_coding + 1]],
            "variants": [  # in every exon but the start and the stop codon's: in the CDS and the 3' UTR
                {"variant_id": f"v{i}", "seq_id": "chrB", "start": s + 1, "end": s + 1, "ref": "C", "alt": "G"}
                for i, s in enumerate(s for k, s in enumerate(starts) if k not in (0, last_coding))
                if i < variants
            ],
        }
    ]
    path = folder / "payload.json"
    path.write_text(json.dumps(payload))
    return str(path)


def measure(what: str, argument: str, src: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what, argument], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        return {"failed": done.returncode, "stderr": done.stderr[-500:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exons", type=int, default=14_000)
    parser.add_argument("--variants", type=int, default=9_000)
    parser.add_argument("--bomb-gib", type=float, default=3.0)
    parser.add_argument("--src", type=Path, default=REPO / "src")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pavi-hostile-") as scratch:
        folder = Path(scratch)
        payload = write_large_entry(folder, args.exons, args.variants)
        bomb = write_bomb(folder, args.bomb_gib)
        results = {
            "src": str(args.src),
            "large_entry": {"exons": args.exons, "variants": args.variants, **measure("entry", payload, args.src)},
            "gzip_bomb": {
                "file_mb": round(Path(bomb).stat().st_size / 1e6, 1),
                "inflates_to_gib": args.bomb_gib,
                **measure("bomb", bomb, args.src),
            },
        }
    print(json.dumps(results, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
