"""Variants from a VCF or BCF, as a request's inline variants (issue 30).

Read with ``pysam`` (htslib) by region, through the file's tabix or CSI index: only the records
overlapping a selected transcript's exons are read, whatever the file's size. Each ALT allele of
a record is one variant (multi-allelic records split), written in the request's convention
(SPEC §3: 1-based, plus strand; a deletion's ``alt`` and an insertion's ``ref`` empty, an insertion
between its two flanking bases) after VCF's shared leading base is taken off. Symbolic alleles
(``<DEL>``), the ``*`` allele, breakends and missing ALTs cannot be embedded: such an allele is
refused with its reason, and the others of the record kept. A record whose REF disagrees with the
genome is refused (the VCF and the FASTA are not the same assembly there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pavi.domain.annotation import AnnotationError


@dataclass
class Call:
    """One ALT allele of one record, as an inline variant, and the samples' alleles there."""

    variant: dict[str, Any]
    record_key: str  # CHROM:POS:REF:ALTS, the record's own (its alleles share it)
    allele: int  # 1 for the first ALT
    genotypes: dict[str, tuple[tuple[int | None, ...], bool]] = field(default_factory=dict)  # sample: alleles, phased


@dataclass
class Calls:
    calls: list[Call]
    refused: list[str]  # each refused allele or record, with why
    samples: list[str]


def index_of(path: str) -> str:
    """The VCF's index, made when it can be (a bgzip VCF), else an error saying how."""
    for suffix in (".tbi", ".csi"):
        if Path(path + suffix).is_file():
            return path + suffix
    if path.lower().endswith(".bcf"):
        import pysam.bcftools

        try:
            pysam.bcftools.index(path)
        except (OSError, pysam.utils.SamtoolsError) as error:
            raise AnnotationError(
                f"{path} has no index (.csi) and none could be made: 'bcftools index {path}'"
            ) from error
        return path + ".csi"
    with open(path, "rb") as probe:
        bgzip = probe.read(4) == b"\x1f\x8b\x08\x04"
    if not bgzip:
        raise AnnotationError(
            f"{path} is not bgzip-compressed, so it cannot be read by region: "
            f"'bgzip {path}' then 'tabix -p vcf {path}.gz' (or 'bcftools view -Oz -W')"
        )
    import pysam

    try:
        pysam.tabix_index(path, preset="vcf", force=False, keep_original=True)
    except OSError as error:
        raise AnnotationError(f"{path} has no index and none could be made ({error}): 'tabix -p vcf {path}'") from error
    return path + ".tbi"


def check_contigs(path: str, lengths: dict[str, int], seq_map: dict[str, str]) -> None:
    """The VCF's contigs (its header's lengths) against the FASTA's: another assembly is an error."""
    import pysam

    with pysam.VariantFile(path) as vcf:
        for name, contig in vcf.header.contigs.items():
            target = seq_map.get(str(name), str(name))
            if contig.length is not None and target in lengths and contig.length != lengths[target]:
                raise AnnotationError(
                    f"{path}: contig {name} is {contig.length:,} bases long, the FASTA's {target} "
                    f"{lengths[target]:,}: they are not the same assembly"
                )


def read_calls(path: str, regions: list[tuple[str, int, int]], genome: Any, seq_map: dict[str, str]) -> Calls:
    """The records overlapping ``regions`` (VCF contig, 1-based start, end), each allele a call;
    ``genome.fetch(seq_id, start, end)`` checks each REF; ``seq_map``: VCF name -> FASTA name.
    The file has its index (:func:`index_of`, the caller's)."""
    import pysam

    calls: list[Call] = []
    refused: list[str] = []
    seen: set[str] = set()
    with pysam.VariantFile(path) as vcf:
        samples = list(vcf.header.samples)
        known = {str(name) for name in vcf.header.contigs} | {str(name) for name in (vcf.index or [])}
        for contig, start, end in regions:
            if contig not in known:
                continue
            for record in vcf.fetch(contig, start - 1, end):
                ref = str(record.ref or "")
                key = f"{record.chrom}:{record.pos}:{ref}:{','.join(record.alts or ('.',))}"
                if key in seen:
                    continue  # a record two regions overlap
                seen.add(key)
                seq_id = seq_map.get(record.chrom, record.chrom)
                bases = genome.fetch(seq_id, record.pos, record.pos + len(ref) - 1)
                if bases.upper() != ref.upper():
                    refused.append(f"{key}: REF {ref} disagrees with the genome's {bases} at {seq_id}:{record.pos}")
                    continue
                for allele, alt in enumerate(record.alts or (), start=1):
                    why = _unembeddable(alt)
                    if why:
                        refused.append(f"{key}: ALT {alt} {why}")
                        continue
                    call = Call(_variant(record, seq_id, alt, allele), key, allele)
                    for sample in samples:
                        data = record.samples[sample]
                        call.genotypes[sample] = (tuple(data.allele_indices or ()), bool(data.phased))
                    calls.append(call)
    return Calls(calls, refused, samples)


def _unembeddable(alt: str | None) -> str:
    if alt is None or alt in {".", ""}:
        return "is missing"
    if alt.startswith("<"):
        return "is a symbolic allele: its bases are not given, so it cannot be embedded"
    if alt == "*":
        return "is the '*' allele (a deletion given by another record)"
    if any(mark in alt for mark in "[]") or alt.startswith(".") or alt.endswith("."):
        return "is a breakend: it joins distant sequences, not one transcript"
    if not re.fullmatch(r"[ACGTNacgtn]+", alt):
        return "holds characters that are not bases"
    return ""


def _variant(record: Any, seq_id: str, alt: str, allele: int) -> dict[str, Any]:
    """The allele in the request's convention: the shared leading and trailing bases taken off."""
    ref, position = record.ref.upper(), record.pos
    alt = alt.upper()
    shared = 0
    while shared < min(len(ref), len(alt)) and ref[shared] == alt[shared]:
        shared += 1
    ref, alt, position = ref[shared:], alt[shared:], position + shared
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    if ref:
        start, end = position, position + len(ref) - 1
    else:  # an insertion: between the base before it and the next
        start, end = position - 1, position
    name = record.id if record.id else f"{record.chrom}-{record.pos}-{record.ref}-{alt or '-'}"
    if record.id and len(record.alts) > 1:
        name = f"{record.id}_{allele}"
    return {"variant_id": name, "seq_id": seq_id, "start": start, "end": end, "ref": ref, "alt": alt}
