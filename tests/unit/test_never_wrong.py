"""Issue 20: inputs off the tested path end right, are refused, or fail with a reason; never
"completed" and wrong. One class per defect of the issue, each test failing on the code
before it; the checks that would have caught them (names through Clustal Omega, the
genome's identity, the protein against its CDS) are tested on their own too.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import boto3
import pysam
import pytest
from moto import mock_aws
from support.genomes import GeneDesign, write_fasta
from support.http_server import serve

from pavi.aws.lanes import lambda_lane_fits, lane_figures
from pavi.domain import genome as genome_module
from pavi.domain import limits
from pavi.domain.alignment import AlignmentError, check_alignment, parse_clustal, prepare_input, run_clustalo
from pavi.domain.errors import GenomeAccessError, JobSizeError, RequestValidationError, SequenceError, VariantError
from pavi.domain.genome import IndexedFasta, new_job, open_fasta
from pavi.domain.request import parse_job
from pavi.domain.retrieval import EXCLUDED, retrieve_all, retrieve_entry
from pavi.domain.sources import GenomeChanged
from pavi.domain.transcripts import Transcript, coding_frame
from pavi.domain.variant_api import VariantApiClient
from pavi.domain.variants import Variant, check_no_overlaps

DESIGN = GeneDesign()
PROTEIN = DESIGN.protein


def gene_entry(url: str, **extra: Any) -> dict[str, Any]:
    return DESIGN.on_strand("+").entry(url, **extra)


@pytest.fixture
def gene_url(tmp_path: Path) -> str:
    return str(write_fasta(tmp_path / "g", {DESIGN.seq_id: DESIGN.on_strand("+").genome}))


def problems_of(payload: Any) -> list[str]:
    with pytest.raises(RequestValidationError) as caught:
        parse_job(payload)
    return [str(problem) for problem in caught.value.problems]


class TestNamesClustalOmegaShortens:
    """Item 1: Clustal Omega keeps 127 characters of a name."""

    def test_a_name_past_127_characters_is_refused_with_its_field(self, gene_url: str) -> None:
        said = problems_of([gene_entry(gene_url, base_seq_name="N" * 130)])
        assert said == [
            "entry 0, base_seq_name: sequence names are at most 127 characters, as Clustal Omega keeps no more "
            "(130 given)"
        ]
        parse_job([gene_entry(gene_url, base_seq_name="N" * 127)])  # exactly what it keeps

    def test_a_name_and_its_suffix_past_127_characters_are_refused(self, gene_url: str) -> None:
        variant = DESIGN.on_strand("+").variant("v1", 3, "G", "A")
        (said,) = problems_of([gene_entry(gene_url, base_seq_name="N" * 124, variants=[variant])])
        assert "has 128 characters: at most 127" in said and "base_seq_name and alt_seq_name_suffix" in said

    def test_a_name_renamed_past_127_characters_is_refused(self, gene_url: str) -> None:
        twin = {"base_seq_name": "N" * 126}
        (said,) = problems_of([gene_entry(gene_url, **twin), gene_entry(gene_url, unique_entry_id="b", **twin)])
        assert said.startswith("entry 1, base_seq_name:") and "128 characters" in said

    def test_names_clustal_omega_would_merge_are_caught_after_the_alignment(self) -> None:
        """Without the validation (an old job, a direct call), two names that agree on their
        first 127 characters give one row name: the alignment is refused, not mis-mapped."""
        fasta = f">{'A' * 127}X\nMKVLAAGIVGLLLAAQPAMA\n>{'A' * 127}Y\nMKVLAAGIVALLLAAQPAMA\n>short\nMKVLAAGIVALL\n"
        with pytest.raises(AlignmentError, match=f"two rows named {'A' * 127} in one block"):
            run_clustalo(fasta, threads=1)

    def test_every_name_comes_back_once_with_its_residues(self) -> None:
        sent = [("a", "MKV"), ("b", "MRV")]
        check_alignment(sent, {"a": "MKV-", "b": "MR-V"})
        with pytest.raises(AlignmentError, match="missing: b"):
            check_alignment(sent, {"a": "MKV"})
        with pytest.raises(AlignmentError, match="does not hold the residues sent"):
            check_alignment(sent, {"a": "MKV", "b": "MKV"})
        with pytest.raises(AlignmentError, match="names sequences more than once: a"):
            check_alignment([*sent, ("a", "MKV")], {"a": "MKV", "b": "MRV"})
        with pytest.raises(AlignmentError, match="two rows named a"):
            parse_clustal("CLUSTAL O(1.2.4) multiple sequence alignment\n\n\na      MKV\na      MKV\n")


class TestNamesStartingWithADash:
    """Item 2: Clustal Omega writes a name starting with '-' as blank."""

    def test_refused_at_validation(self, gene_url: str) -> None:
        (said,) = problems_of([gene_entry(gene_url, base_seq_name="-HLA")])
        assert (
            said
            == "entry 0, base_seq_name: '-HLA': a sequence name must not start with '-' (Clustal Omega writes it blank)"
        )
        parse_job([gene_entry(gene_url, base_seq_name="HLA-A")])  # a dash inside is kept

    def test_a_blanked_row_fails_the_alignment(self) -> None:
        fasta = ">-neg\nMKVLAAGIVGLLLAAQPAMA\n>pos\nMKVLAAGIVALLLAAQPAMA\n>other\nMKVLAAGIVALLLAAQPAM\n"
        with pytest.raises(AlignmentError, match="missing: -neg"):
            run_clustalo(fasta, threads=1)


class TestRepeatedCdsRegions:
    """Item 3: CDS regions listed twice, or overlapping, read their bases twice."""

    def cds(self) -> list[dict[str, int]]:
        return [{**region, "frame": 0} for region in gene_entry("x")["cds_seq_regions"]]  # type: ignore[union-attr]

    def test_a_region_listed_twice_is_refused(self, gene_url: str) -> None:
        cds = self.cds()
        (said,) = problems_of([gene_entry(gene_url, cds_seq_regions=[*cds, cds[1]])])
        assert "are the same region listed twice" in said

    def test_overlapping_regions_are_refused(self, gene_url: str) -> None:
        cds = self.cds()
        inner = {**cds[1], "start": cds[1]["start"] + 3}
        (said,) = problems_of([gene_entry(gene_url, cds_seq_regions=[*cds, inner])])
        a, b = cds[1]["start"], cds[1]["end"]
        assert said == f"entry 0: CDS regions {a}..{b} and {a + 3}..{b} overlap"

    def test_the_protein_reads_each_cds_base_once_even_unvalidated(self, gene_url: str) -> None:
        entry = parse_job([gene_entry(gene_url)]).seq_regions[0]
        doubled = entry.model_copy(update={"cds_seq_regions": [*entry.cds_seq_regions, entry.cds_seq_regions[1]]})
        transcript = Transcript.build(doubled, IndexedFasta(gene_url).fetch)
        with pytest.raises(SequenceError, match="CDS regions overlap in the transcript"):
            coding_frame(doubled, transcript)
        assert retrieve_entry(entry).reference.protein == PROTEIN


def rewrite_genome(folder: Path, sequence: str, bump: int) -> None:
    """Replace the genome's files in place with another version (and another modification time)."""
    write_fasta(folder, {DESIGN.seq_id: sequence})
    for suffix in ("", ".fai", ".gzi"):
        path = folder / f"genome.fa.gz{suffix}"
        os.utime(path, ns=(path.stat().st_mtime_ns + bump, path.stat().st_mtime_ns + bump))


class TestGenomeReplacedWhileTheProcessLives:
    """Item 4: an opened genome (its index, checks and block cache) outlived its files."""

    def other_version(self) -> tuple[str, str]:
        """The gene with its first residues changed, moved 7 bases down (another .fai offset too)."""
        other = GeneDesign(protein="MW" + PROTEIN[2:], flank=47)
        return other.on_strand("+").genome, "MW" + PROTEIN[2:]

    def test_a_later_job_reads_the_new_files(self, tmp_path: Path) -> None:
        folder = tmp_path / "g"
        url = str(write_fasta(folder, {DESIGN.seq_id: DESIGN.on_strand("+").genome}))
        first = parse_job([gene_entry(url)]).seq_regions
        assert retrieve_all(first, str(tmp_path / "one"), 1)[0].reference.protein == PROTEIN
        genome, protein = self.other_version()
        rewrite_genome(folder, genome, bump=10**9)
        moved = GeneDesign(protein=protein, flank=47).on_strand("+").entry(url)
        second = parse_job([moved]).seq_regions
        result = retrieve_all(second, str(tmp_path / "two"), 1)[0]
        assert (result.reference.protein, result.reference.info) == (protein, {})

    def test_a_read_after_the_files_changed_fails_instead_of_answering(self, tmp_path: Path) -> None:
        folder = tmp_path / "g"
        url = str(write_fasta(folder, {DESIGN.seq_id: DESIGN.on_strand("+").genome}))
        fasta = open_fasta(url)
        fasta.fetch(DESIGN.seq_id, 1, 10)
        rewrite_genome(folder, self.other_version()[0], bump=10**9)
        fasta._cache.clear()
        with pytest.raises(GenomeChanged, match="changed while it was being read"):
            fasta.fetch(DESIGN.seq_id, 100, 120)
        assert not fasta.unchanged()

    def test_over_http_the_etag_is_checked(self, tmp_path: Path) -> None:
        folder = tmp_path / "g"
        write_fasta(folder, {DESIGN.seq_id: DESIGN.on_strand("+").genome})
        with serve(folder) as server:
            url = f"{server.url}/genome.fa.gz"
            new_job()
            fasta = open_fasta(url)
            assert fasta.identities[""].version.startswith('"')
            rewrite_genome(folder, self.other_version()[0], bump=10**9)
            fasta._cache.clear()
            with pytest.raises(GenomeChanged):
                fasta.fetch(DESIGN.seq_id, 100, 120)
            new_job()
            assert open_fasta(url) is not fasta  # the next job opens the new version

    def test_on_s3_the_etag_is_checked(self, tmp_path: Path) -> None:
        folder = tmp_path / "g"
        write_fasta(folder, {DESIGN.seq_id: DESIGN.on_strand("+").genome})
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="genomes")

            def upload() -> None:
                for suffix in ("", ".fai", ".gzi"):
                    s3.upload_file(str(folder / f"genome.fa.gz{suffix}"), "genomes", f"genome.fa.gz{suffix}")

            upload()
            new_job()
            fasta = open_fasta("s3://genomes/genome.fa.gz")
            assert open_fasta("s3://genomes/genome.fa.gz") is fasta
            rewrite_genome(folder, self.other_version()[0], bump=10**9)
            upload()
            with pytest.raises(GenomeChanged):
                fasta.fetch(DESIGN.seq_id, 100, 120)
            new_job()
            assert open_fasta("s3://genomes/genome.fa.gz") is not fasta


def big_entry(url: str, exons: int, variants: int) -> dict[str, Any]:
    """One entry of ``exons`` 3-base exons 10 bases apart (a long CDS), with ``variants`` SNVs."""
    starts = [100 + 10 * i for i in range(exons)]
    regions = [{"start": s, "end": s + 2} for s in starts]
    chosen = starts[1 : variants + 1] if variants < exons else starts
    return {
        "unique_entry_id": "big",
        "base_seq_name": "big",
        "seq_id": "chrB",
        "fasta_file_url": url,
        "exon_seq_regions": regions,
        "cds_seq_regions": [{**region, "frame": 0} for region in regions],
        "variants": [
            {"variant_id": f"v{i}", "seq_id": "chrB", "start": s + 1, "end": s + 1, "ref": "C", "alt": "G"}
            for i, s in enumerate(chosen[:variants])
        ],
    }


def big_genome(folder: Path, exons: int) -> str:
    """chrB: ATG, then GCT (Ala) at every exon, with introns of N between, and a stop exon."""
    bases = ["N"] * (100 + 10 * exons + 100)
    for i in range(exons):
        s = 100 + 10 * i
        bases[s - 1 : s + 2] = "ATG" if i == 0 else ("TAA" if i == exons - 1 else "GCT")
    return str(write_fasta(folder, {"chrB": "".join(bases)}))


class TestQuadraticWorkPerEntry:
    """Item 5: each variant rebuilt every splice site, the overlap check compared all pairs."""

    @staticmethod
    def seconds(url: str, exons: int, variants: int) -> float:
        entry = parse_job([big_entry(url, exons, variants)]).seq_regions[0]
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            result = retrieve_entry(entry)
            best = min(best, time.process_time() - started)
        assert result.sequences[1].protein is not None, result.sequences[1].info
        return best

    def test_twice_the_exons_and_variants_take_about_twice_the_time(self, tmp_path: Path) -> None:
        url = big_genome(tmp_path, 6000)
        small, large = self.seconds(url, 1500, 1000), self.seconds(url, 6000, 4000)
        # four times the entry: 4 x the time when linear, 16 x when quadratic
        assert large / small < 8, (small, large)

    def test_the_overlap_sweep_finds_what_every_pair_would(self) -> None:
        def snv(name: str, start: int, end: int | None = None, ref: str = "A", alt: str = "G") -> Variant:
            end = start if end is None else end
            return Variant(name, "chr1", start, end, ref if ref else "", alt)

        check_no_overlaps([snv("a", 10), snv("b", 11), snv("c", 5, 9, "AAAAA")])
        with pytest.raises(VariantError, match="variants c and b overlap"):
            check_no_overlaps([snv("a", 20), snv("c", 5, 12, "A" * 8), snv("b", 11)])
        with pytest.raises(VariantError, match="variants i and s overlap"):  # an insertion inside a span
            check_no_overlaps([snv("i", 7, 8, ""), snv("s", 5, 9, "AAAAA")])
        check_no_overlaps([snv("i", 9, 10, ""), snv("s", 5, 9, "AAAAA")])  # right after it: apart
        with pytest.raises(VariantError, match="variants i and j overlap"):
            check_no_overlaps([snv("i", 9, 10, ""), snv("j", 9, 10, "")])


class TestHugeInsertion:
    """Item 6: a 990,000-base insertion went to the Lambda lane and killed Clustal Omega."""

    def test_refused_at_validation_naming_the_entry(self, gene_url: str) -> None:
        gene = DESIGN.on_strand("+")
        insertion = {**gene.variant("huge", 30, "", "A"), "alt": "GCT" * 330_000}
        (said,) = problems_of([gene_entry(gene_url), gene_entry(gene_url, unique_entry_id="b", variants=[insertion])])
        assert said.startswith("entry 1: ") and "330,0" in said and "at most 36,000 can be aligned" in said

    def test_alleles_count_in_the_lane_figures(self, gene_url: str) -> None:
        gene = DESIGN.on_strand("+")
        insertion = {**gene.variant("long", 30, "", "A"), "alt": "GCT" * 3_000}
        job = parse_job([gene_entry(gene_url, variants=[insertion])])
        figures = lane_figures(job.seq_regions)
        assert figures["longest_protein"] > 3_000 and not lambda_lane_fits(figures)

    def test_a_protein_past_the_bound_fails_its_entry_at_retrieval(self, gene_url: str, tmp_path: Path) -> None:
        """A variant looked up by ID is not known at validation: its protein is checked once made."""
        gene = DESIGN.on_strand("+")
        long_insert = gene.variant("ins", 30, "", "GCT" * (limits.MAX_PROTEIN_RESIDUES + 10))
        entry = parse_job([gene_entry(gene_url, variant_ids=["ins"])]).seq_regions[0]
        with serve(documents={"/api/ins": json.dumps(variant_api_answer(long_insert)).encode()}) as server:
            client = VariantApiClient(f"{server.url}/api/")
            result = retrieve_entry(entry, variant_client=client)
        assert result.reference.protein == PROTEIN
        assert "at most 36,000 can be aligned" in result.sequences[1].info["error"]

    def test_clustal_omega_killed_by_a_signal_is_said_so(self, tmp_path: Path) -> None:
        fake = tmp_path / "clustalo-killed"
        fake.write_text("#!/bin/sh\nkill -SEGV $$\n")
        fake.chmod(0o755)
        with pytest.raises(AlignmentError, match="killed by SIGSEGV"):
            run_clustalo(">a\nMK\n>b\nMR\n", executable=str(fake))

    def test_job_totals_are_a_413_kind_of_refusal(self, gene_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("pavi.domain.request.MAX_JOB_RESIDUES", 50)
        with pytest.raises(JobSizeError, match="residues in all: at most 50"):
            parse_job([gene_entry(gene_url), gene_entry(gene_url, unique_entry_id="b")])


def variant_api_answer(inline: dict[str, Any]) -> dict[str, Any]:
    return {
        "location": {"chromosome": inline["seq_id"], "start": inline["start"], "end": inline["end"]},
        "genomicReferenceSequence": inline["ref"],
        "genomicVariantSequence": inline["alt"],
    }


class TestEntryInAnNRegion:
    """Item 7: an all-X protein failed the whole job in Clustal Omega, with '0 failed' said."""

    def test_it_fails_alone_and_the_rest_are_aligned(self, tmp_path: Path) -> None:
        design = DESIGN.on_strand("+")
        n_region = "N" * len(design.genome)
        url = str(write_fasta(tmp_path / "g", {DESIGN.seq_id: design.genome, "chrN": n_region}))
        entries = [
            gene_entry(url, unique_entry_id="a"),
            gene_entry(url, unique_entry_id="b", base_seq_name="other"),
            gene_entry(url, unique_entry_id="n", base_seq_name="unknown", seq_id="chrN"),
        ]
        results = retrieve_all(parse_job(entries).seq_regions, str(tmp_path / "seq"), 2)
        info = results[2].reference.info
        assert info[EXCLUDED] is True and "unknown residues (X)" in info["error"]
        prepared = prepare_input(str(tmp_path / "seq"))
        assert prepared.can_align and prepared.failed == []
        assert [(e.entry_id, e.sequence_name) for e in prepared.excluded] == [("n", "unknown")]
        assert prepared.counts()["entries_excluded"] == 1
        assert sorted(parse_clustal(run_clustalo(prepared.fasta, threads=1))) == ["gene_plus", "other"]


def bgzf_block(text: bytes) -> bytes:
    """One BGZF block (gzip member with the BC extra field) holding ``text``."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(text) + deflater.flush()
    extra = b"BC" + struct.pack("<HH", 2, len(body) + 25)
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
    return header + body + struct.pack("<II", zlib.crc32(text), len(text) & 0xFFFFFFFF)


class TestGzipBomb:
    """Item 8: a BGZF block was inflated without a cap."""

    def test_a_block_inflating_past_64_kib_is_refused_without_holding_it(self, tmp_path: Path) -> None:
        header = b">chrZ\n"
        fasta = tmp_path / "bomb.fa.gz"
        bomb = bgzf_block(b"A" * (64 * 1024 * 1024))  # 64 MiB of text in one 'block' of about 64 KiB
        fasta.write_bytes(bgzf_block(header) + bomb)
        (tmp_path / "bomb.fa.gz.fai").write_text(
            f"chrZ\t{64 * 1024 * 1024}\t{len(header)}\t{64 * 1024 * 1024}\t{64 * 1024 * 1024 + 1}\n"
        )
        (tmp_path / "bomb.fa.gz.gzi").write_bytes(struct.pack("<QQQ", 1, len(bgzf_block(header)), len(header)))
        genome = IndexedFasta(str(fasta))
        tracemalloc.start()
        try:
            with pytest.raises(GenomeAccessError, match="inflates to more than 65536 bytes"):
                genome.fetch("chrZ", 1, 10)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 * 1024 * 1024, peak


class TestIndexFilesReadWithoutALimit:
    """Item 9: ``file:///dev/zero?`` made an index path of /dev/zero; index sizes unbounded."""

    def test_a_query_or_fragment_is_refused_at_validation(self, gene_url: str) -> None:
        for url in ("file:///dev/zero?", "https://example.org/g.fa.gz?sig=1", "s3://bucket/g.fa.gz#x"):
            (said,) = problems_of([gene_entry(url)])
            assert "query ('?') or fragment ('#') is not accepted" in said, said

    def test_and_when_opened(self) -> None:
        with pytest.raises(GenomeAccessError, match="query"):
            IndexedFasta("file:///dev/zero?")

    def test_a_device_is_not_read(self, tmp_path: Path) -> None:
        with pytest.raises(GenomeAccessError, match="not a regular file"):
            IndexedFasta("/dev/zero")
        (tmp_path / "x.fa").write_text(">a\nACGT\n")  # a FASTA whose index is a device
        os.symlink("/dev/zero", tmp_path / "x.fa.fai")
        with pytest.raises(GenomeAccessError, match="not a regular file"):
            IndexedFasta(str(tmp_path / "x.fa"))

    def test_an_index_over_its_bound_is_refused_before_it_is_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = write_fasta(tmp_path, {"chrA": "ACGT" * 100})
        monkeypatch.setattr(genome_module, "MAX_FAI_BYTES", 10)
        with pytest.raises(GenomeAccessError, match="more than the 10 bytes an index file may have"):
            IndexedFasta(str(url))
        with serve(tmp_path) as server, pytest.raises(GenomeAccessError, match="more than the 10 bytes"):
            IndexedFasta(f"{server.url}/genome.fa.gz")


class TestVariantIds:
    """Item 10: 3,000 variant IDs made 3,000 sequential calls."""

    def test_bounded_per_entry_and_per_job(self, gene_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        (said,) = problems_of([gene_entry(gene_url, variant_ids=[f"v{i}" for i in range(201)])])
        assert "201 variant IDs: at most 200 per entry" in said
        monkeypatch.setattr("pavi.domain.request.MAX_VARIANT_LOOKUPS_PER_JOB", 3)
        entries = [gene_entry(gene_url, unique_entry_id=f"e{i}", variant_ids=[f"v{i}", "shared"]) for i in range(3)]
        with pytest.raises(JobSizeError, match="4 distinct variant IDs to look up"):
            parse_job(entries)

    def test_looked_up_a_few_at_a_time_and_once_per_job(
        self, gene_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        gene = DESIGN.on_strand("+")
        ids = [f"v{i}" for i in range(24)]
        answers = {  # in-frame insertions inside exons (coding indices 31 and 62 start exons)
            f"/api/{v}": json.dumps(variant_api_answer(gene.variant(v, 3 * i + 6, "", "GCT"))).encode()
            for i, v in enumerate(ids)
        }
        entries = [gene_entry(gene_url, unique_entry_id=f"e{k}", variant_ids=ids) for k in range(3)]
        with serve(documents=answers) as server:
            server.faults.delay.update({path: 0.2 for path in answers})
            monkeypatch.setenv("PAVI_VARIANT_API_URL", f"{server.url}/api/")
            results = retrieve_all(parse_job(entries).seq_regions, str(tmp_path / "seq"), 3)
            assert len(server.requests) == 24  # once per job, not once per entry
            # a few at a time, counted by the server (each answer waits 0.2 s, so they overlap)
            assert 2 <= server.most_in_flight <= 8, server.most_in_flight
        assert all(r.sequences[1].protein for r in results), results[0].sequences[1].info


class TestRepeatedVariantId:
    """Item 11: two inline variants with one ID said 'variants X and X overlap'."""

    def test_said_as_a_repeated_id(self, gene_url: str) -> None:
        gene = DESIGN.on_strand("+")
        twice = [gene.variant("X", 3, "G", "A"), gene.variant("X", 9, "G", "A")]
        (said,) = problems_of([gene_entry(gene_url, variants=twice)])
        assert "variant ID 'X' is defined more than once in variants" in said
        one = Variant("X", "chr1", 5, 5, "A", "G")
        with pytest.raises(VariantError, match="variant X is given twice"):
            check_no_overlaps([one, one])


class TestBadBytesInTheGenome:
    """Item 12: '*' or a non-ASCII byte gave 'internal error (TranslationError ...)'."""

    @pytest.mark.parametrize(("byte", "said"), [(b"*", "holds '*' (0x2A)"), (b"\xe9", "holds a non-ASCII byte (0xE9)")])
    def test_the_position_and_the_byte_are_named(self, tmp_path: Path, byte: bytes, said: str) -> None:
        genome = bytearray(DESIGN.on_strand("+").genome.encode())
        at = DESIGN.coding_positions[10]
        genome[at - 1] = byte[0]
        plain = tmp_path / "g.fa"
        plain.write_bytes(b">chrT\n" + bytes(genome) + b"\n")
        pysam.faidx(str(plain))
        result = retrieve_entry(parse_job([gene_entry(str(plain))]).seq_regions[0])
        error = result.reference.info["error"]
        assert f"chrT:{at} {said}" in error and "not a nucleotide letter" in error
        assert "internal error" not in error


class TestNegativeFaiValues:
    """Item 13: a negative length or offset gave 'internal error (ValueError ...)'."""

    @pytest.mark.parametrize("line", ["chrT\t-5\t6\t60\t61", "chrT\t500\t-6\t60\t61"])
    def test_said_as_an_invalid_index_line(self, tmp_path: Path, line: str) -> None:
        url = write_fasta(tmp_path, {DESIGN.seq_id: DESIGN.on_strand("+").genome}, bgzip=False)
        Path(f"{url}.fai").write_text(line + "\n")
        result = retrieve_entry(parse_job([gene_entry(str(url))]).seq_regions[0])
        assert "line 1 is not a valid .fai line (negative length" in result.reference.info["error"]


class TestCompressionFromTheBytes:
    """Item 14: a bgzip FASTA at a URL without '.gz' failed as 'truncated'."""

    def test_bgzip_is_read_from_the_magic_not_the_suffix(self, tmp_path: Path) -> None:
        url = write_fasta(tmp_path, {DESIGN.seq_id: DESIGN.on_strand("+").genome})
        for suffix in ("", ".fai", ".gzi"):
            shutil.copy(f"{url}{suffix}", tmp_path / f"genome.fasta{suffix}")
        with serve(tmp_path) as server:
            for location in (str(tmp_path / "genome.fasta"), f"{server.url}/genome.fasta"):
                entry = parse_job([gene_entry(location)]).seq_regions[0]
                assert retrieve_entry(entry).reference.protein == PROTEIN, location

    def test_plain_gzip_is_said_to_need_bgzip(self, tmp_path: Path) -> None:
        text = f">{DESIGN.seq_id}\n{DESIGN.on_strand('+').genome}\n".encode()
        (tmp_path / "g.fa.gz").write_bytes(gzip.compress(text))
        with pytest.raises(GenomeAccessError, match="not with bgzip"):
            IndexedFasta(str(tmp_path / "g.fa.gz"))
