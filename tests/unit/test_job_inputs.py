"""Issue 30: the annotation styles and VCF features a job is built from, on designed genes whose
proteins are known (tests/support/genomes.py): Ensembl-style GFF3 (gene -> transcript -> exon/CDS,
``transcript:`` prefixes, versions), GENCODE-style GTF (CDS without its stop codon), a tabix-indexed
annotation, multi-allelic records, symbolic alleles and breakends, phased samples, and every
refusal with its reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pysam
import pytest
from support.genomes import GeneDesign, write_fasta

from pavi.domain.annotation import AnnotationError
from pavi.domain.genome import IndexedFasta
from pavi.domain.job_builder import build_job
from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry

PAVI = str(Path(sys.executable).with_name("pavi"))


class Files:
    def __init__(self, folder: Path) -> None:
        self.plus, self.minus = GeneDesign().on_strand("+"), GeneDesign(seq_id="chrU").on_strand("-")
        self.folder = folder
        self.url = str(write_fasta(folder, {"chrT": self.plus.genome, "chrU": self.minus.genome}))
        self.genome = IndexedFasta(self.url)
        self.entries = {"ENST01": self.plus.entry(self.url), "ENST02": self.minus.entry(self.url)}

    def gff3(self, name: str = "genes.gff3", phase_shift: int = 0, cds_trim: int = 0) -> str:
        lines = ["##gff-version 3"]
        for number, (tid, entry) in enumerate(self.entries.items(), start=1):
            seq, strand = entry["seq_id"], entry["seq_strand"]
            exons = sorted((r["start"], r["end"]) for r in entry["exon_seq_regions"])
            cds = sorted((r["start"], r["end"]) for r in entry["cds_seq_regions"])
            gene = f"gene:ENSG0{number}"
            low, high = exons[0][0], exons[-1][1]
            lines.append(
                f"{seq}\tens\tgene\t{low}\t{high}\t.\t{strand}\t.\tID={gene};Name=DEMO{number};biotype=protein_coding"
            )
            lines.append(
                f"{seq}\tens\tmRNA\t{low}\t{high}\t.\t{strand}\t.\tID=transcript:{tid}.3;Parent={gene};Name=DEMO{number}-201"
            )
            lines += [f"{seq}\tens\texon\t{a}\t{b}\t.\t{strand}\t.\tParent=transcript:{tid}.3" for a, b in exons]
            ordered = cds if strand == "+" else cds[::-1]
            before = 0
            for index, (a, b) in enumerate(ordered):
                phase = ((-before) % 3 + (phase_shift if index == 1 else 0)) % 3
                if index == len(ordered) - 1 and cds_trim:
                    a, b = (a, b - cds_trim) if strand == "+" else (a + cds_trim, b)
                lines.append(
                    f"{seq}\tens\tCDS\t{a}\t{b}\t.\t{strand}\t{phase}\tID=CDS:P{number};Parent=transcript:{tid}.3"
                )
                before += b - a + 1
            # a non-coding isoform of the same gene, and a gene with no coding transcript
            lines.append(
                f"{seq}\tens\tlnc_RNA\t{low}\t{high}\t.\t{strand}\t.\tID=transcript:NC0{number};Parent={gene};biotype=retained_intron"
            )
            lines.append(f"{seq}\tens\texon\t{low}\t{high}\t.\t{strand}\t.\tParent=transcript:NC0{number}")
            lines.append(f"{seq}\tens\tncRNA_gene\t{low}\t{high}\t.\t{strand}\t.\tID=gene:LNC{number};Name=LNC{number}")
            lines.append(
                f"{seq}\tens\tlnc_RNA\t{low}\t{high}\t.\t{strand}\t.\tID=transcript:LT{number};Parent=gene:LNC{number}"
            )
            lines.append(f"{seq}\tens\texon\t{low}\t{high}\t.\t{strand}\t.\tParent=transcript:LT{number}")
        path = self.folder / name
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def gtf(self) -> str:
        """GENCODE's way: the CDS without its stop codon, which is a feature of its own."""
        lines = []
        for number, (tid, entry) in enumerate(self.entries.items(), start=1):
            seq, strand = entry["seq_id"], entry["seq_strand"]
            attributes = (
                f'gene_id "ENSG0{number}.1"; transcript_id "{tid}.3"; gene_name "DEMO{number}"; '
                f'transcript_name "DEMO{number}-201";'
            )
            for r in entry["exon_seq_regions"]:
                low, high = sorted((r["start"], r["end"]))
                lines.append(f"{seq}\tHAVANA\texon\t{low}\t{high}\t.\t{strand}\t.\t{attributes}")
            cds = sorted((r["start"], r["end"]) for r in entry["cds_seq_regions"])
            if strand == "+":
                cds[-1], stop = (cds[-1][0], cds[-1][1] - 3), (cds[-1][1] - 2, cds[-1][1])
            else:
                cds[0], stop = (cds[0][0] + 3, cds[0][1]), (cds[0][0], cds[0][0] + 2)
            ordered, before = (cds if strand == "+" else cds[::-1]), 0
            for a, b in ordered:
                lines.append(f"{seq}\tHAVANA\tCDS\t{a}\t{b}\t.\t{strand}\t{(-before) % 3}\t{attributes}")
                before += b - a + 1
            lines.append(f"{seq}\tHAVANA\tstop_codon\t{stop[0]}\t{stop[1]}\t.\t{strand}\t0\t{attributes}")
        path = self.folder / "genes.gtf"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def vcf(self, records: list[str], name: str = "calls.vcf.gz", contig_lengths: dict[str, int] | None = None,
            index: bool = True, samples: tuple[str, ...] = ("S1", "S2")) -> str:  # fmt: skip
        lengths = contig_lengths or {"chrT": len(self.plus.genome), "chrU": len(self.minus.genome)}
        header = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
        header += [f"##contig=<ID={n},length={length}>" for n, length in lengths.items()]
        header.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]))
        plain = self.folder / name.removesuffix(".gz")
        plain.write_text("\n".join(header + records) + "\n")
        path = self.folder / name
        pysam.tabix_compress(str(plain), str(path), force=True)
        if index:
            pysam.tabix_index(str(path), preset="vcf", force=True)
        return str(path)

    def record(self, index: int, alts: str, genotypes: tuple[str, str] = ("0|1", "0/0"), ident: str = ".") -> str:
        """A record at coding base ``index`` of the plus gene."""
        position = self.plus.coding_pos(index)
        ref = self.plus.genome[position - 1]
        return f"chrT\t{position}\t{ident}\t{ref}\t{alts}\t.\tPASS\t.\tGT\t{genotypes[0]}\t{genotypes[1]}"


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def proteins(entries: list[dict[str, Any]]) -> list[str | None]:
    return [retrieve_entry(entry).reference.protein for entry in parse_job(entries).seq_regions]


def test_ensembl_gff3_by_gene_name_transcript_id_or_gene_id(files: Files) -> None:
    """A gene name or ID gives its protein-coding transcripts (not its non-coding isoform); a
    transcript ID may leave out its version; both strands give the designed protein."""
    gff3 = files.gff3()
    for names in (["DEMO1", "DEMO2"], ["ENST01", "ENST02.3"], ["ENSG01", "gene:ENSG02"]):
        built = build_job(files.genome, files.url, gff3, names)
        assert [e["unique_entry_id"] for e in built.entries] == ["ENST01.3", "ENST02.3"], names
        assert proteins(built.entries) == [files.plus.design.protein] * 2
        assert built.entries[0]["base_seq_name"] == "DEMO1-201"


def test_gtf_joins_its_stop_codon_to_the_cds_and_gives_the_gff3s_request(files: Files) -> None:
    from_gff3 = build_job(files.genome, files.url, files.gff3(), ["DEMO1", "DEMO2"]).entries
    from_gtf = build_job(files.genome, files.url, files.gtf(), ["DEMO1", "DEMO2"]).entries
    assert [e["cds_seq_regions"] for e in from_gtf] == [e["cds_seq_regions"] for e in from_gff3]
    assert [e["exon_seq_regions"] for e in from_gtf] == [e["exon_seq_regions"] for e in from_gff3]
    assert proteins(from_gtf) == [files.plus.design.protein] * 2


def test_a_tabix_indexed_annotation_is_read_by_region(files: Files) -> None:
    gff3 = Path(files.gff3())
    lines = gff3.read_text().splitlines()
    body = sorted(lines[1:], key=lambda line: (line.split("\t")[0], int(line.split("\t")[3])))
    gff3.write_text("\n".join([lines[0], *body]) + "\n")
    compressed = str(gff3) + ".gz"
    pysam.tabix_compress(str(gff3), compressed, force=True)
    pysam.tabix_index(compressed, preset="gff", force=True)
    built = build_job(files.genome, files.url, compressed, ["DEMO1", "ENST02"])
    assert proteins(built.entries) == [files.plus.design.protein] * 2


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["NC01"], r"transcript NC01 has no CDS: it is non-coding \(retained_intron\)"),
        (["LNC1"], r"gene LNC1 has no protein-coding transcript \(1 transcript, none with a CDS\)"),
        (["DEMO3"], r"'DEMO3' is not a transcript ID, gene ID or gene name of .*closest names there: DEMO2, DEMO1"),
    ],
)
def test_a_name_that_gives_no_protein_is_refused_with_why(files: Files, names: list[str], said: str) -> None:
    with pytest.raises(AnnotationError, match=said):
        build_job(files.genome, files.url, files.gff3(), names)


def test_a_cds_that_is_not_whole_codons_or_whose_phases_disagree_is_refused(files: Files) -> None:
    with pytest.raises(AnnotationError, match=r"transcript ENST01\.3: its CDS is [\d,]+ bases, .* not a whole number"):
        build_job(files.genome, files.url, files.gff3("trim.gff3", cds_trim=1), ["ENST01"])
    with pytest.raises(AnnotationError, match=r"has phase \d, but the parts before it make it \d"):
        build_job(files.genome, files.url, files.gff3("shift.gff3", phase_shift=1), ["ENST01"])


def test_vcf_records_become_variants_each_allele_its_own_and_unembeddable_ones_refused(files: Files) -> None:
    vcf = files.vcf([
        files.record(30, "A,C" if files.plus.genome[files.plus.coding_pos(30) - 1] not in "AC" else "G,T", ident="rs1"),
        files.record(45, "<DEL>"),
        files.record(48, "C[chrU:10["),
        files.record(51, "*"),
    ])  # fmt: skip
    built = build_job(files.genome, files.url, files.gff3(), ["DEMO1"], vcf)
    assert [e["variant_ids"] for e in built.entries] == [["rs1_1"], ["rs1_2"]]  # multi-allelic: split
    refused = "\n".join(built.notes)
    for reason in ("is a symbolic allele", "is a breakend", "is the '*' allele"):
        assert reason in refused, refused
    first = retrieve_entry(parse_job(built.entries[:1]).seq_regions[0])
    assert first.sequences[1].protein != files.plus.design.protein and first.sequences[1].protein


def test_samples_group_their_alleles_and_phased_ones_by_haplotype(files: Files) -> None:
    vcf = files.vcf([
        files.record(3, "A" if files.plus.genome[files.plus.coding_pos(3) - 1] != "A" else "C", ("1|0", "0/1"), "v1"),
        files.record(60, "A" if files.plus.genome[files.plus.coding_pos(60) - 1] != "A" else "C", ("0|1", "1/1"), "v2"),
    ])  # fmt: skip
    built = build_job(files.genome, files.url, files.gff3(), ["DEMO1"], vcf, "sample")
    grouped = {e["alt_seq_name_suffix"]: e["variant_ids"] for e in built.entries}
    assert grouped == {"_S1_h1": ["v1"], "_S1_h2": ["v2"], "_S2": ["v1", "v2"]}


def test_wrong_assembly_names_ref_and_index_are_refused_or_mended(files: Files) -> None:
    gff3 = files.gff3()
    other = files.vcf([files.record(30, "A")], "other.vcf.gz", {"chrT": 999, "chrU": 999})
    with pytest.raises(
        AnnotationError, match=r"contig chrT is 999 bases long, the FASTA's chrT [\d,]+: they are not the same"
    ):
        build_job(files.genome, files.url, gff3, ["DEMO1"], other)
    named = files.folder / "named.vcf"
    named.write_text(Path(files.vcf([files.record(30, "A")], "x.vcf.gz", index=False)).with_suffix("").read_text()
                     .replace("chrT", "T").replace("ID=chrU", "ID=U"))  # fmt: skip
    pysam.tabix_compress(str(named), str(named) + ".gz", force=True)
    with pytest.raises(AnnotationError, match=r"names T where the FASTA names chrT: add --seq-map T=chrT"):
        build_job(files.genome, files.url, gff3, ["DEMO1"], str(named) + ".gz")  # its index is made, then read
    assert Path(str(named) + ".gz.tbi").is_file()
    mapped = build_job(files.genome, files.url, gff3, ["DEMO1"], str(named) + ".gz", auto_names=True)
    (variant,) = mapped.entries[0]["variants"]  # the FASTA's name, the VCF's own in its ID
    assert variant["seq_id"] == "chrT" and variant["variant_id"].startswith(f"T-{files.plus.coding_pos(30)}-")
    with pytest.raises(AnnotationError, match=r"is not bgzip-compressed, so it cannot be read by region: 'bgzip"):
        build_job(files.genome, files.url, gff3, ["DEMO1"], str(named))
    position = files.plus.coding_pos(30)
    wrong = "C" if files.plus.genome[position - 1] != "C" else "G"
    mismatch = files.vcf([f"chrT\t{position}\t.\t{wrong}\tA\t.\tPASS\t.\tGT\t0|1\t0/0"], "mismatch.vcf.gz")
    built = build_job(files.genome, files.url, gff3, ["DEMO1"], mismatch)
    assert any(f"REF {wrong} disagrees with the genome's" in note for note in built.notes), built.notes


def test_pavi_job_writes_the_request_and_says_what_it_refused(files: Files) -> None:
    out = files.folder / "request.json"
    vcf = files.vcf([files.record(45, "<DEL>")])
    done = subprocess.run(
        [PAVI, "job", "--genome", files.url, "--annotation", files.gff3(), "--select", "DEMO1", "DEMO2",
         "--variants", vcf, "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    request = json.loads(out.read_text())
    assert [e["unique_entry_id"] for e in request["seq_regions"]] == ["ENST01.3", "ENST02.3"]
    assert "is a symbolic allele" in done.stderr and "wrote " in done.stderr
    refused = subprocess.run(
        [PAVI, "job", "--genome", files.url, "--annotation", files.gff3(), "--select", "LNC1", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "no request written: gene LNC1 has no protein-coding" in refused.stderr
    assert json.loads(out.read_text()) == request  # nothing half-built


def test_a_plain_genome_is_bgzipped_and_indexed_beside_it(tmp_path: Path) -> None:
    gene = GeneDesign().on_strand("+")
    plain = write_fasta(tmp_path, {"chrT": gene.genome}, bgzip=False)
    from pavi.domain.job_builder import prepare_genome

    said: list[str] = []
    url = prepare_genome(str(plain), said.append)
    assert url.endswith("genome.fa.gz") and Path(url + ".fai").is_file() and Path(url + ".gzi").is_file()
    assert "is not bgzip-compressed" in said[0]
    assert IndexedFasta(url).fetch("chrT", 1, 10) == gene.genome[:10]


def styled_gff3(files: Files, style: str) -> str:
    """The plus gene in RefSeq/NCBI's or WormBase's GFF3 style."""
    entry = files.entries["ENST01"]
    exons = sorted((r["start"], r["end"]) for r in entry["exon_seq_regions"])
    cds = sorted((r["start"], r["end"]) for r in entry["cds_seq_regions"])
    low, high = exons[0][0], exons[-1][1]
    if style == "refseq":
        gene, rna = (
            "ID=gene-DEMO1;Name=DEMO1;gene=DEMO1",
            "ID=rna-NM_0001.2;Parent=gene-DEMO1;gene=DEMO1;transcript_id=NM_0001.2",
        )
        parent, kind = "rna-NM_0001.2", "mRNA"
    else:
        gene, rna = "ID=Gene:WBGene01;Name=demo-1;locus=demo-1", "ID=Transcript:Y74C9A.2a.1;Parent=Gene:WBGene01"
        parent, kind = "Transcript:Y74C9A.2a.1", "mRNA"
    lines = [
        "##gff-version 3",
        f"chrT\ts\tgene\t{low}\t{high}\t.\t+\t.\t{gene}",
        f"chrT\ts\t{kind}\t{low}\t{high}\t.\t+\t.\t{rna}",
    ]
    lines += [f"chrT\ts\texon\t{a}\t{b}\t.\t+\t.\tID=exon-{i};Parent={parent}" for i, (a, b) in enumerate(exons)]
    before = 0
    for a, b in cds:
        lines.append(f"chrT\ts\tCDS\t{a}\t{b}\t.\t+\t{(-before) % 3}\tID=cds-NP_0001.1;Parent={parent}")
        before += b - a + 1
    path = files.folder / f"{style}.gff3"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize(
    ("style", "names", "entry_id"),
    [("refseq", ["NM_0001"], "NM_0001.2"), ("refseq", ["DEMO1"], "NM_0001.2"),
     ("wormbase", ["Y74C9A.2a.1"], "Y74C9A.2a.1"), ("wormbase", ["WBGene01"], "Y74C9A.2a.1")],
)  # fmt: skip
def test_refseq_and_wormbase_styles(files: Files, style: str, names: list[str], entry_id: str) -> None:
    built = build_job(files.genome, files.url, styled_gff3(files, style), names)
    assert [e["unique_entry_id"] for e in built.entries] == [entry_id]
    assert proteins(built.entries) == [files.plus.design.protein]


def test_a_bcf_is_read_through_its_csi_index(files: Files) -> None:
    vcf = files.vcf(
        [files.record(3, "A" if files.plus.genome[files.plus.coding_pos(3) - 1] != "A" else "C", ident="b1")]
    )
    bcf = files.folder / "calls.bcf"
    with pysam.VariantFile(vcf) as source, pysam.VariantFile(str(bcf), "wb", header=source.header) as out:
        for record in source:
            out.write(record)
    built = build_job(files.genome, files.url, files.gff3(), ["DEMO1"], str(bcf))  # its CSI index made
    assert Path(f"{bcf}.csi").is_file() and [e["variant_ids"] for e in built.entries] == [["b1"]]


def test_a_vcf_without_the_transcripts_sequence_is_never_read_as_another(files: Files) -> None:
    """Its only contig is MT: chrT's variants are none, said so, and never MT's (--seq-map auto
    tries chrT's own spellings only: T, not MT)."""
    length = len(files.plus.genome)
    vcf = files.vcf(
        [f"MT\t{files.plus.coding_pos(30)}\t.\tA\tC\t.\tPASS\t.\tGT\t0|1\t0/0"], "mt.vcf.gz", {"MT": length}
    )
    built = build_job(files.genome, files.url, files.gff3(), ["DEMO1"], vcf, auto_names=True)
    assert [e.get("variants") for e in built.entries] == [None]
    assert any("has no sequence chrT" in note for note in built.notes), built.notes
