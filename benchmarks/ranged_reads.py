"""Benchmark: bytes and seconds per transcript, ranged reads against whole-file download.

A synthetic genome of at least 100 Mbp is made once (bgzipped and indexed with htslib
through pysam) under ``.bench/``, served over loopback HTTP with Range support by the
test suite's file server, which counts the body bytes it really sends. Three ways to get
the proteins of the same multi-exon transcripts are measured in one run:

- ``pavi`` (this project): exact ``Range: bytes=a-b`` reads of the BGZF blocks a
  transcript needs, through ``.fai`` + ``.gzi`` fetched once per process;
- ``download`` (the previous pipeline's way, the baseline): download the whole FASTA and
  its indexes per job, then read locally;
- ``htslib`` (for reference): pysam's FastaFile opened on the http:// URL.

Run: ``python benchmarks/ranged_reads.py`` (``--help`` for sizes). Prints a table and
writes ``.bench/ranged_reads.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pysam
import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.http_server import FileServer  # noqa: E402

from pavi.domain.genome import forget_opened, open_fasta  # noqa: E402
from pavi.domain.request import parse_job  # noqa: E402
from pavi.domain.retrieval import retrieve_entry  # noqa: E402
from pavi.domain.sources import reset_clients, transfer_counters  # noqa: E402

CHROMOSOMES = 10


def make_genome(folder: Path, megabases: int) -> Path:
    """A random genome of ``megabases`` Mbp in ten chromosomes, 60 bases a line, bgzipped and indexed."""
    target = folder / f"synthetic-{megabases}Mbp.fa.gz"
    if all((target.parent / (target.name + s)).exists() for s in ("", ".fai", ".gzi")):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261128)
    per_chromosome = megabases * 1_000_000 // CHROMOSOMES
    plain = folder / "synthetic.fa"
    with plain.open("w") as handle:
        for number in range(1, CHROMOSOMES + 1):
            handle.write(f">chr{number}\n")
            for offset in range(0, per_chromosome, 6_000_000):
                chunk = "".join(rng.choices("ACGT", k=min(6_000_000, per_chromosome - offset)))
                handle.write("\n".join(chunk[i : i + 60] for i in range(0, len(chunk), 60)) + "\n")
    pysam.tabix_compress(str(plain), str(target), force=True)
    pysam.faidx(str(target))
    plain.unlink()
    return target


def make_entries(genome: Path, count: int, url: str) -> list[dict[str, Any]]:
    """Multi-exon transcripts (4 to 12 exons of 80 to 400 bp, introns of 200 to 8,000 bp), both strands."""
    fai = pysam.FastaFile(str(genome))
    rng = random.Random(7)
    entries = []
    for number in range(count):
        seq_id = rng.choice(fai.references)
        position = rng.randint(1, fai.get_reference_length(seq_id) - 200_000)
        exons = []
        for _ in range(rng.randint(4, 12)):
            length = rng.randint(80, 400)
            exons.append({"start": position, "end": position + length - 1})
            position += length + rng.randint(200, 8_000)
        strand = rng.choice("+-")
        entries.append(
            {
                "unique_entry_id": f"t{number:04d}",
                "base_seq_name": f"t{number:04d}",
                "seq_id": seq_id,
                "seq_strand": strand,
                "exon_seq_regions": exons,
                "cds_seq_regions": [{**e, "frame": 0} for e in exons],
                "fasta_file_url": url,
            }
        )
    return entries


def proteins_of(entries: list[dict[str, Any]]) -> list[str | None]:
    job = parse_job(entries)
    return [retrieve_entry(entry).reference.protein for entry in job.seq_regions]


def run(megabases: int, transcripts: int, bandwidth_mbps: float) -> dict[str, Any]:
    bench = ROOT / ".bench"
    genome = make_genome(bench, megabases)
    size = genome.stat().st_size
    server = FileServer(genome.parent).start()
    server.faults.bandwidth = bandwidth_mbps * 1_000_000 / 8
    url = f"{server.url}/{genome.name}"
    entries = make_entries(genome, transcripts, url)
    results: dict[str, Any] = {
        "genome_mbp": megabases,
        "genome_bgzip_bytes": size,
        "bandwidth_mbps": bandwidth_mbps,
        "transcripts": transcripts,
        "exons_per_transcript": statistics.mean(len(e["exon_seq_regions"]) for e in entries),
    }
    try:
        # pavi: indexes once per process, then ranged reads per transcript
        forget_opened()
        reset_clients()
        server.reset_counters()
        # every figure is counted where the client receives it: the server thread's counter
        # can lag behind the answer the client already has
        received_at_start = transfer_counters.bytes
        started = time.perf_counter()
        open_fasta(url)
        index_seconds = time.perf_counter() - started
        index_bytes = transfer_counters.bytes - received_at_start
        per_transcript_bytes, per_transcript_seconds, requests = [], [], []
        proteins: list[str | None] = []
        for entry in entries:
            received, asked = transfer_counters.bytes, transfer_counters.requests
            started = time.perf_counter()
            proteins += proteins_of([entry])
            per_transcript_seconds.append(time.perf_counter() - started)
            per_transcript_bytes.append(transfer_counters.bytes - received)
            requests.append(transfer_counters.requests - asked)
        client_total = transfer_counters.bytes - received_at_start
        deadline = time.monotonic() + 5
        while server.bytes_sent < client_total and time.monotonic() < deadline:
            time.sleep(0.01)  # let the server thread finish counting
        server_total = server.bytes_sent
        assert server_total == client_total, (server_total, client_total)
        client_total -= index_bytes
        server_total -= index_bytes
        results["pavi"] = {
            "index_bytes_once": index_bytes,
            "index_seconds_once": index_seconds,
            "bytes_per_transcript_mean": statistics.mean(per_transcript_bytes),
            "bytes_per_transcript_max": max(per_transcript_bytes),
            "requests_per_transcript_mean": statistics.mean(requests),
            "seconds_per_transcript_mean": statistics.mean(per_transcript_seconds),
            "transcripts_bytes_server_counted": server_total,
            "transcripts_bytes_client_counted": client_total,
        }

        # baseline: download the whole FASTA and its indexes per job, then read locally
        server.reset_counters()
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            pool = urllib3.PoolManager()
            for suffix in ("", ".fai", ".gzi"):
                with (
                    pool.request("GET", url + suffix, preload_content=False) as answer,
                    open(Path(scratch) / (genome.name + suffix), "wb") as handle,
                ):
                    shutil.copyfileobj(answer, handle, 1 << 20)
            download_seconds = time.perf_counter() - started
            local = str(Path(scratch) / genome.name)
            forget_opened()
            baseline_proteins = proteins_of([{**e, "fasta_file_url": local} for e in entries])
        baseline_seconds = time.perf_counter() - started
        results["download"] = {
            "bytes_per_job": server.bytes_sent,
            "bytes_per_transcript_if_one_per_job": server.bytes_sent,
            "download_seconds": download_seconds,
            "seconds_per_job": baseline_seconds,
        }
        assert baseline_proteins == proteins, "ranged reads and the downloaded genome disagree"

        # htslib's own remote access, for reference
        server.reset_counters()
        started = time.perf_counter()
        remote = pysam.FastaFile(url)
        hts_open_bytes = server.bytes_sent
        hts_bytes = []
        for entry in entries[: min(20, transcripts)]:
            sent = server.bytes_sent
            for exon in entry["exon_seq_regions"]:
                remote.fetch(entry["seq_id"], exon["start"] - 1, exon["end"])
            time.sleep(0.05)  # let the server's counters see what the socket took
            hts_bytes.append(server.bytes_sent - sent)
        results["htslib"] = {
            "open_bytes": hts_open_bytes,
            "bytes_per_transcript_mean": statistics.mean(hts_bytes),
            "seconds_total": time.perf_counter() - started,
        }
    finally:
        server.stop()
    pavi = results["pavi"]
    results["ratio_bytes_download_over_pavi_per_transcript"] = size / pavi["bytes_per_transcript_mean"]
    results["ratio_bytes_download_over_pavi_per_10_entry_job"] = (size * 1.0) / (
        pavi["index_bytes_once"] + 10 * pavi["bytes_per_transcript_mean"]
    )
    results["ratio_seconds_download_job_over_pavi_transcript"] = (
        results["download"]["seconds_per_job"] / transcripts
    ) / pavi["seconds_per_transcript_mean"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--megabases", type=int, default=100, help="genome size in Mbp (default 100)")
    parser.add_argument("--transcripts", type=int, default=50, help="transcripts to retrieve (default 50)")
    parser.add_argument(
        "--bandwidth-mbps",
        type=float,
        default=100.0,
        help="the server's sending rate in Mbit/s, as a network link would cap it (default 100; 0: no cap)",
    )
    args = parser.parse_args()
    results = run(args.megabases, args.transcripts, args.bandwidth_mbps)
    out = ROOT / ".bench" / "ranged_reads.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    pavi, download, hts = results["pavi"], results["download"], results["htslib"]
    print(f"genome: {results['genome_mbp']} Mbp, {results['genome_bgzip_bytes']:,} bytes bgzipped")
    print(f"server: loopback HTTP with Range support, capped at {results['bandwidth_mbps']:g} Mbit/s (0: no cap)")
    print(f"transcripts: {results['transcripts']}, {results['exons_per_transcript']:.1f} exons each on average")
    print(f"pavi     index files once: {pavi['index_bytes_once']:,} B in {pavi['index_seconds_once']:.3f}s")
    print(
        f"pavi     per transcript: {pavi['bytes_per_transcript_mean']:,.0f} B mean, "
        f"{pavi['bytes_per_transcript_max']:,} B max, {pavi['requests_per_transcript_mean']:.1f} requests, "
        f"{pavi['seconds_per_transcript_mean'] * 1000:.1f} ms"
    )
    print(
        f"download per job: {download['bytes_per_job']:,} B, {download['seconds_per_job']:.2f}s "
        f"(download {download['download_seconds']:.2f}s)"
    )
    print(f"htslib   open: {hts['open_bytes']:,} B; per transcript {hts['bytes_per_transcript_mean']:,.0f} B")
    per_transcript = results["ratio_bytes_download_over_pavi_per_transcript"]
    print(f"ratio    bytes, download / pavi per transcript: {per_transcript:,.0f}x")
    print(
        "ratio    bytes, download / pavi for a 10-entry job (indexes included): "
        f"{results['ratio_bytes_download_over_pavi_per_10_entry_job']:,.0f}x"
    )
    print(
        "ratio    seconds per transcript, download job / pavi: "
        f"{results['ratio_seconds_download_job_over_pavi_transcript']:,.1f}x (download spread over all transcripts)"
    )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
