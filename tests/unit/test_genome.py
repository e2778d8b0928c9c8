"""Indexed genome access: exact ranged reads, checked against htslib (pysam) as the oracle."""

from __future__ import annotations

import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import boto3
import pysam
import pytest
from moto import mock_aws
from support.genomes import GeneDesign, random_dna, write_fasta
from support.http_server import serve

from pavi.domain.errors import GenomeAccessError, SequenceError, UrlNotAllowedError
from pavi.domain.genome import IndexedFasta, open_fasta
from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry
from pavi.domain.sources import transfer_counters
from pavi.domain.url_policy import Resolved, UrlPolicy


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sequences of 300 kb, 70 kb and 61 bases: many BGZF blocks, odd line ends."""
    folder = tmp_path_factory.mktemp("genome")
    sequences = {"chr1": random_dna(300_000, 1), "chr2": random_dna(70_000, 2).lower(), "tiny": random_dna(61, 3)}
    write_fasta(folder, sequences, bgzip=True)
    write_fasta(folder, sequences, name="plain.fa", bgzip=False)
    return folder


def random_regions(fasta: pysam.FastaFile, count: int, seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    regions = []
    for _ in range(count):
        name = rng.choice(fasta.references)
        length = fasta.get_reference_length(name)
        start = rng.randint(1, length)
        regions.append((name, start, min(length, start + rng.choice([0, 1, 59, 60, 61, 500, 70_000]))))
    return regions


@pytest.mark.parametrize("name", ["genome.fa.gz", "plain.fa"])
def test_local_reads_match_htslib(genome: Path, name: str) -> None:
    oracle = pysam.FastaFile(str(genome / name))
    fasta = IndexedFasta(str(genome / name))
    assert fasta.compressed == name.endswith(".gz")
    for seq_id, start, end in random_regions(oracle, 300, seed=7):
        assert fasta.fetch(seq_id, start, end) == oracle.fetch(seq_id, start - 1, end).upper()


def test_http_reads_are_exact_ranges_and_indexes_are_fetched_once(genome: Path) -> None:
    oracle = pysam.FastaFile(str(genome / "genome.fa.gz"))
    with serve(genome) as server:
        url = f"{server.url}/genome.fa.gz"
        fasta = open_fasta(url)
        assert open_fasta(url) is fasta
        opening = server.requests
        # the FASTA's identity and first bytes (is it bgzip?), then its two indexes, once
        assert opening == [
            ("/genome.fa.gz", "bytes=0-0"),
            ("/genome.fa.gz", "bytes=0-17"),
            ("/genome.fa.gz.fai", None),
            ("/genome.fa.gz.gzi", None),
        ]
        fasta.fetch("chr1", 1, 10)  # the first read of a sequence checks its header (issue 14, item 7)
        server.reset_counters()
        assert fasta.fetch("chr1", 100_001, 100_300) == oracle.fetch("chr1", 100_000, 100_300).upper()
        ranges = [r for _, r in server.requests]
        assert len(ranges) == 1 and ranges[0] is not None and ranges[0].count("-") == 1
        assert not ranges[0].endswith("-"), "ranges must be closed"
        assert server.bytes_sent < 2 * 65536
        # the same block again comes from the block cache
        server.reset_counters()
        fasta.fetch("chr1", 100_010, 100_020)
        assert server.requests == []
        for seq_id, start, end in random_regions(oracle, 50, seed=9):
            assert fasta.fetch(seq_id, start, end) == oracle.fetch(seq_id, start - 1, end).upper()


def test_http_server_errors_are_retried(genome: Path) -> None:
    with serve(genome) as server:
        server.faults.fail_first["/genome.fa.gz.fai"] = (2, 503)
        server.faults.fail_first["/genome.fa.gz"] = (1, 500)
        fasta = IndexedFasta(f"{server.url}/genome.fa.gz")
        assert len(fasta.fetch("chr1", 1, 10)) == 10
        fai_calls = [p for p, _ in server.requests if p == "/genome.fa.gz.fai"]
        assert len(fai_calls) == 3


def test_http_server_that_ignores_ranges_is_refused(genome: Path) -> None:
    with serve(genome) as server:
        fasta = IndexedFasta(f"{server.url}/genome.fa.gz")
        server.faults.ignore_ranges = True
        with pytest.raises(GenomeAccessError, match="ignored the Range request"):
            fasta.fetch("chr1", 1, 10)


def test_http_hanging_server_times_out(genome: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVI_HTTP_READ_TIMEOUT", "0.3")
    with serve(genome) as server:
        server.faults.delay["/genome.fa.gz.fai"] = 2.0
        with pytest.raises(GenomeAccessError, match="unreachable"):
            IndexedFasta(f"{server.url}/genome.fa.gz")


def test_unreachable_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVI_HTTP_CONNECT_TIMEOUT", "0.2")
    with serve() as server:
        url = server.url
    with pytest.raises(GenomeAccessError, match="unreachable"):
        IndexedFasta(f"{url}/genome.fa.gz")


def test_missing_index_files_are_named(genome: Path, tmp_path: Path) -> None:
    (tmp_path / "g.fa.gz").write_bytes((genome / "genome.fa.gz").read_bytes())
    with pytest.raises(GenomeAccessError, match=r"\(\.fai\) index .*g\.fa\.gz\.fai is missing"):
        IndexedFasta(str(tmp_path / "g.fa.gz"))
    (tmp_path / "g.fa.gz.fai").write_bytes((genome / "genome.fa.gz.fai").read_bytes())
    with pytest.raises(GenomeAccessError, match=r"\(\.gzi\) index .* is missing"):
        IndexedFasta(str(tmp_path / "g.fa.gz"))
    with serve(tmp_path) as server, pytest.raises(GenomeAccessError, match="is missing"):
        IndexedFasta(f"{server.url}/g.fa.gz")


def test_missing_fasta_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(GenomeAccessError, match=r"the FASTA file cannot be read .*no such file"):
        IndexedFasta(str(tmp_path / "absent.fa.gz"))
    with serve(tmp_path) as server, pytest.raises(GenomeAccessError, match=r"cannot be read .*HTTP 404"):
        IndexedFasta(f"{server.url}/absent.fa.gz")


def copy_genome(genome: Path, folder: Path) -> Path:
    for suffix in ("", ".fai", ".gzi"):
        (folder / f"g.fa.gz{suffix}").write_bytes((genome / f"genome.fa.gz{suffix}").read_bytes())
    return folder / "g.fa.gz"


def test_corrupt_gzi_is_detected(genome: Path, tmp_path: Path) -> None:
    path = copy_genome(genome, tmp_path)
    gzi = bytearray((tmp_path / "g.fa.gz.gzi").read_bytes())
    (tmp_path / "g.fa.gz.gzi").write_bytes(bytes(gzi[:-5]))
    with pytest.raises(GenomeAccessError, match="gzi index is corrupt"):
        IndexedFasta(str(path))
    # a compressed offset that points into the middle of block 3
    compressed, text = struct.unpack_from("<QQ", gzi, 8 + 16 * 2)
    struct.pack_into("<Q", gzi, 8 + 16 * 2, compressed + 7)
    (tmp_path / "g.fa.gz.gzi").write_bytes(bytes(gzi))
    fasta = IndexedFasta(str(path))
    position = (text - fasta.records["chr1"].offset) // 61 * 60 + 10  # a base inside block 3
    with pytest.raises(GenomeAccessError, match="bgzip"):
        fasta.fetch("chr1", position, position + 10)


def test_truncated_and_corrupt_bgzip_are_detected(genome: Path, tmp_path: Path) -> None:
    path = copy_genome(genome, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenomeAccessError, match=r"truncated|ends before"):
        IndexedFasta(str(path)).fetch("chr2", 60_000, 60_100)
    corrupt = bytearray(data)
    for i in range(2000, 2100):
        corrupt[i] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    with pytest.raises(GenomeAccessError, match="corrupt bgzip block"):
        IndexedFasta(str(path)).fetch("chr1", 1, 100)


def test_unknown_sequence_and_past_the_end(genome: Path) -> None:
    fasta = IndexedFasta(str(genome / "genome.fa.gz"))
    with pytest.raises(SequenceError, match=r"'chrZ' is not in the FASTA .* \(3 sequences: chr1, chr2, tiny\)"):
        fasta.fetch("chrZ", 1, 2)
    with pytest.raises(SequenceError, match=r"past the end of sequence 'tiny' \(length 61\)"):
        fasta.fetch("tiny", 50, 62)


def test_s3_reads_with_ranges(genome: Path) -> None:
    oracle = pysam.FastaFile(str(genome / "genome.fa.gz"))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="genomes")
        for suffix in ("", ".fai", ".gzi"):
            s3.upload_file(str(genome / f"genome.fa.gz{suffix}"), "genomes", f"ref/genome.fa.gz{suffix}")
        fasta = IndexedFasta("s3://genomes/ref/genome.fa.gz")
        for seq_id, start, end in random_regions(oracle, 30, seed=3):
            assert fasta.fetch(seq_id, start, end) == oracle.fetch(seq_id, start - 1, end).upper()
        fresh = IndexedFasta("s3://genomes/ref/genome.fa.gz")
        before = transfer_counters.bytes
        fresh.fetch("chr1", 200_001, 200_100)
        assert transfer_counters.bytes - before < 65536  # one BGZF block, not the file
        with pytest.raises(GenomeAccessError, match=r"the FASTA file cannot be read .*no such object"):
            IndexedFasta("s3://genomes/ref/absent.fa.gz")
        s3.put_object(Bucket="genomes", Key="ref/noindex.fa.gz", Body=b"data")
        with pytest.raises(GenomeAccessError, match=r"\(\.fai\) index s3://genomes/ref/noindex.fa.gz.fai is missing"):
            IndexedFasta("s3://genomes/ref/noindex.fa.gz")


class TestAllowList:
    def test_unset_allows_everything(self) -> None:
        UrlPolicy.from_env().check("http://127.0.0.1/x.fa.gz")
        UrlPolicy.from_env().check("/tmp/x.fa.gz")

    def test_hosts_buckets_and_files(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PAVI_FASTA_ALLOWLIST", "8.8.8.8, *.example.org, s3://agrjbrowse")
        policy = UrlPolicy.from_env()
        policy.check("https://8.8.8.8/genome.fa.gz")
        policy.check("s3://agrjbrowse/fasta/x.fa.gz")
        for refused in [
            "s3://other-bucket/x.fa.gz",
            "https://evil.test/x.fa.gz",
            "file:///etc/passwd",
            "/etc/passwd",
            "ftp://8.8.8.8/x",
        ]:
            with pytest.raises(UrlNotAllowedError):
                policy.check(refused)

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/x.fa.gz",
            "http://localhost/x.fa.gz",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.8/x.fa.gz",
            "http://192.168.1.1/x.fa.gz",
            "http://172.16.0.1/x.fa.gz",
            "http://[::1]/x.fa.gz",
        ],
    )
    def test_non_public_addresses_are_refused_even_when_listed(self, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
        monkeypatch.setenv(
            "PAVI_FASTA_ALLOWLIST", "127.0.0.1,localhost,169.254.169.254,10.0.0.8,192.168.1.1,172.16.0.1,::1"
        )
        with pytest.raises(UrlNotAllowedError, match="non-public address"):
            UrlPolicy.from_env().check(url)

    def test_redirect_to_a_refused_address_is_not_followed(self, genome: Path) -> None:
        """The first hop is allowed here by an explicit policy object; the redirect target is not."""
        with serve(genome) as server:
            server.faults.redirect["/genome.fa.gz.fai"] = "http://169.254.169.254/latest/meta-data/"
            policy = UrlPolicy(("127.0.0.1-not-listed",))
            with pytest.raises(UrlNotAllowedError):
                IndexedFasta(f"{server.url}/genome.fa.gz", policy)

    def test_redirects_are_checked_hop_by_hop(self, genome: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        with serve(genome) as server:
            server.faults.redirect["/moved.fa.gz"] = "http://169.254.169.254/latest/meta-data/"  # read first
            checked: list[str] = []

            class Recording(UrlPolicy):
                def resolve(self, url: str) -> Resolved:
                    checked.append(url)
                    if "169.254" in url:
                        raise UrlNotAllowedError(f"{url}: refused")
                    return super().resolve(url)

            with pytest.raises(UrlNotAllowedError):
                IndexedFasta(f"{server.url}/moved.fa.gz", Recording(None))
            assert checked[-1] == "http://169.254.169.254/latest/meta-data/"
            assert not any("169.254" in path for path, _ in server.requests)


class TestStaleIndex:
    """A .fai that does not match its FASTA fails the read with a clear error instead of
    answering other bases (issue 14, item 7)."""

    @staticmethod
    def rewrite_fai(folder: Path, name: str, change: Callable[[list[str]], list[str]]) -> Path:
        fai = (folder / f"{name}.fai").read_text().splitlines()
        (folder / f"{name}.fai").write_text("".join("\t".join(change(line.split("\t"))) + "\n" for line in fai))
        return folder / name

    @pytest.fixture
    def copy(self, genome: Path, tmp_path: Path) -> Path:
        for file in genome.iterdir():
            shutil.copy(file, tmp_path / file.name)
        return tmp_path

    @pytest.mark.parametrize("name", ["genome.fa.gz", "plain.fa"])
    @pytest.mark.parametrize("shift", [1, -1, 61])
    def test_shifted_offsets_are_refused(self, copy: Path, name: str, shift: int) -> None:
        path = self.rewrite_fai(copy, name, lambda f: [f[0], f[1], str(int(f[2]) + shift), f[3], f[4]])
        fasta = IndexedFasta(str(path))
        with pytest.raises(GenomeAccessError, match=r"\.fai index does not match the FASTA \(sequence 'chr2'"):
            fasta.fetch("chr2", 1_000, 1_100)

    @pytest.mark.parametrize("name", ["genome.fa.gz", "plain.fa"])
    def test_a_wrong_line_length_is_refused(self, copy: Path, name: str) -> None:
        path = self.rewrite_fai(copy, name, lambda f: [f[0], f[1], f[2], str(int(f[3]) - 1), str(int(f[4]) - 1)])
        with pytest.raises(GenomeAccessError, match="first line should hold 59 bases then a line end"):
            IndexedFasta(str(path)).fetch("chr1", 1_000, 1_100)

    def test_two_sequences_swapped_in_the_index_are_refused(self, copy: Path) -> None:
        lines = (copy / "genome.fa.gz.fai").read_text().splitlines()
        first, second = (line.split("\t") for line in lines[:2])
        first[0], second[0] = second[0], first[0]
        (copy / "genome.fa.gz.fai").write_text("\n".join(["\t".join(first), "\t".join(second), *lines[2:]]) + "\n")
        with pytest.raises(GenomeAccessError, match="should follow its header line"):
            IndexedFasta(str(copy / "genome.fa.gz")).fetch("chr1", 10, 20)

    def test_a_stale_index_fails_the_entry_not_the_protein(self, tmp_path: Path) -> None:
        """Through the retrieval: the reference gets an error naming the index, no protein."""
        design = GeneDesign()
        gene = design.on_strand("+")
        path = write_fasta(tmp_path, {"other": random_dna(500, 4), design.seq_id: gene.genome})
        self.rewrite_fai(tmp_path, path.name, lambda f: [f[0], f[1], str(int(f[2]) + 1), f[3], f[4]])
        result = retrieve_entry(parse_job([gene.entry(str(path))]).seq_regions[0])
        assert result.reference.protein is None
        assert "does not match the FASTA" in result.reference.info["error"]
        assert "samtools faidx" in result.reference.info["error"]

    def test_a_header_with_a_description_is_accepted(self, tmp_path: Path) -> None:
        plain = tmp_path / "described.fa"
        plain.write_text(">chrD a long description " + "x" * 5000 + "\nACGTACGTAC\nGTACGT\n>chrE\nTTTT\n")
        pysam.faidx(str(plain))
        fasta = IndexedFasta(str(plain))
        assert fasta.fetch("chrD", 1, 16) == "ACGTACGTACGTACGT"
        assert fasta.fetch("chrE", 2, 3) == "TT"
