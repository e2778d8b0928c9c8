"""A job request from a genome, an annotation and variants (issue 30): ``pavi job``.

Each selected transcript becomes an entry (its exons, its CDS parts with their phases, in the
request's format); with a VCF, its records overlapping the transcript's exons become inline
variants (and those in its introns), grouped into alternative proteins as the user chooses (``GROUPINGS``):

- ``record`` (the default): each allele of each record its own alternative, so that each
  variant's effect is seen alone (one entry a variant; the transcript's reference is repeated);
- ``all``: all of a transcript's variants in one alternative;
- ``sample``: each sample's alleles together: both haplotypes apart where the genotypes are
  phased (``_h1``, ``_h2``), else one alternative of every non-reference allele;
- ``set:FILE``: named sets of variants (``SET<TAB>VARIANT_ID`` lines), one alternative a set.

A transcript with no variant gets one entry, its reference. Nothing is written unless the whole
request can be: every problem is an :class:`~pavi.domain.annotation.AnnotationError` naming its
file, its transcript or its record, and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pavi.domain.annotation import AnnotationError, Transcript
from pavi.domain.variant_calls import Call

GROUPINGS = ("record", "all", "sample", "set:FILE")
SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class Built:
    entries: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # refused records, transcripts without variants


def other_spellings(name: str) -> list[str]:
    """A sequence name as other files write it: ``chr`` taken off or added, and ``MT`` for ``chrM``
    (and back)."""
    bare = name.removeprefix("chr")
    spellings = [bare] if bare != name else [f"chr{name}"]
    if bare in {"M", "MT"}:
        spellings += ["MT", "chrM"]
    return [spelling for spelling in dict.fromkeys(spellings) if spelling != name]


def seq_names(annotation_names: set[str], fasta: dict[str, int], given: dict[str, str], auto: bool) -> dict[str, str]:
    """The FASTA's name of each annotation sequence name: the same, as ``given``, or (``auto``) one
    of its :func:`other_spellings`; an error names those that differ, with the mapping to use."""
    mapping: dict[str, str] = {}
    missing = []
    for name in sorted(annotation_names):
        candidates = [given.get(name, name)] + (other_spellings(name) if auto else [])
        found = next((c for c in candidates if c in fasta), None)
        if found is None:
            missing.append(name)
        else:
            mapping[name] = found
    if missing:
        offers = []
        for name in missing[:3]:
            near = [f for f in other_spellings(name) if f in fasta]
            offers.append(f"{name} (the FASTA has {near[0]}: --seq-map {name}={near[0]})" if near else name)
        sample = ", ".join(list(fasta)[:5])
        raise AnnotationError(
            f"sequence names not in the FASTA: {', '.join(offers)}; the FASTA names {len(fasta):,} "
            f"sequences ({sample}, ...): map them with --seq-map NAME=FASTA_NAME, a file of such pairs, "
            "or --seq-map auto ('chr' added or taken off)"
        )
    return mapping


def span(entry: dict[str, Any]) -> tuple[int, int]:
    """The entry's transcript on the genome: its first exon's start to its last exon's end."""
    return min(r["start"] for r in entry["exon_seq_regions"]), max(r["end"] for r in entry["exon_seq_regions"])


def coding_regions(transcript: Transcript) -> list[dict[str, int]]:
    """The CDS parts in the request's form, each with its phase (the GFF3's where it gives them,
    checked: a wrong phase is a wrong protein), in transcript order; an error when the CDS is not a
    whole number of codons after its first phase."""
    parts = transcript.coding_parts()
    ordered = parts if transcript.strand != "-" else parts[::-1]
    first = ordered[0][2] or 0
    total = sum(end - start + 1 for start, end, _ in ordered)
    if (total - first) % 3:
        raise AnnotationError(
            f"transcript {transcript.transcript_id}: its CDS is {total:,} bases, {total - first:,} after its first "
            f"phase ({first}): not a whole number of codons"
        )
    regions, before = [], 0
    for start, end, phase in ordered:
        computed = (first - before) % 3
        if phase is not None and phase != computed:
            raise AnnotationError(
                f"transcript {transcript.transcript_id}: the CDS part {start}..{end} has phase {phase}, but the parts "
                f"before it make it {computed}: the annotation's phases disagree with its lengths"
            )
        regions.append({"start": start, "end": end, "frame": computed})
        before += end - start + 1
    return regions


def entry_of(transcript: Transcript, fasta_url: str, seq_id: str) -> dict[str, Any]:
    """The request entry of a transcript (no variants yet)."""
    cds = coding_regions(transcript)
    exons = sorted(transcript.exons) or sorted((r["start"], r["end"]) for r in cds)
    if transcript.strand == "-":
        exons = exons[::-1]
    name = transcript.name or transcript.transcript_id
    if transcript.gene_name and transcript.gene_name not in name:
        name = f"{transcript.gene_name}_{name}"
    return {
        "unique_entry_id": SAFE.sub("_", transcript.transcript_id)[:200],
        "base_seq_name": name,
        "seq_id": seq_id,
        "seq_strand": "-" if transcript.strand == "-" else "+",
        "fasta_file_url": fasta_url,
        "exon_seq_regions": [{"start": start, "end": end} for start, end in exons],
        "cds_seq_regions": cds,
    }


def overlapping(entry: dict[str, Any], calls: list[Call]) -> list[Call]:
    """The calls whose bases (an insertion: its flanking pair) touch the transcript: its exons or
    its introns (the job's report then says what an intronic one does: issue 28)."""
    low, high = span(entry)
    return [
        call
        for call in calls
        if call.variant["seq_id"] == entry["seq_id"] and call.variant["start"] <= high and low <= call.variant["end"]
    ]


def with_variants(entry: dict[str, Any], label: str, calls: list[Call]) -> dict[str, Any]:
    label = SAFE.sub("_", label)
    return {
        **entry,
        "unique_entry_id": f"{entry['unique_entry_id']}__{label}"[:200],
        "alt_seq_name_suffix": f"_{label}",
        "variants": [call.variant for call in calls],
        "variant_ids": [call.variant["variant_id"] for call in calls],
    }


def grouped(
    entry: dict[str, Any], calls: list[Call], grouping: str, sets: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The entry's alternatives under ``grouping`` (:data:`GROUPINGS`); the reference alone if none."""
    groups: list[tuple[str, list[Call]]] = []
    if grouping == "record":
        groups = [(call.variant["variant_id"], [call]) for call in calls]
    elif grouping == "all" and calls:
        groups = [("variants", calls)]
    elif grouping == "sample":
        groups = _by_sample(calls)
    elif grouping.startswith("set:"):
        by_id = {call.variant["variant_id"]: call for call in calls}
        groups = [(name, [by_id[i] for i in ids if i in by_id]) for name, ids in sets.items()]
        groups = [(name, members) for name, members in groups if members]
    return [with_variants(entry, label, members) for label, members in groups] or [entry]


def _by_sample(calls: list[Call]) -> list[tuple[str, list[Call]]]:
    samples = sorted({sample for call in calls for sample in call.genotypes})
    groups: list[tuple[str, list[Call]]] = []
    for sample in samples:
        carried = [(call, *call.genotypes[sample]) for call in calls if sample in call.genotypes]
        carried = [(call, alleles, phased) for call, alleles, phased in carried if call.allele in alleles]
        if not carried:
            continue
        if all(phased and len(alleles) == 2 for _, alleles, phased in carried):
            for haplotype in (0, 1):
                members = [call for call, alleles, _ in carried if alleles[haplotype] == call.allele]
                if members:
                    groups.append((f"{sample}_h{haplotype + 1}", members))
        else:
            groups.append((sample, [call for call, _, _ in carried]))
    return groups


def vcf_contigs(path: str) -> set[str]:
    """The sequence names a VCF's header and index know."""
    import pysam

    with pysam.VariantFile(path) as vcf:
        names = {str(name) for name in vcf.header.contigs}
        if vcf.index is not None:
            names |= {str(name) for name in vcf.index}
    return names


def read_sets(text: str, where: str) -> dict[str, list[str]]:
    """``SET<TAB>VARIANT_ID`` lines (blank lines and ``#`` comments skipped)."""
    sets: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise AnnotationError(f"{where}, line {number}: 'SET VARIANT_ID' expected, not {line!r}")
        sets.setdefault(parts[0], []).append(parts[1])
    return sets


def prepare_genome(location: str, say: Any) -> str:
    """The genome's URL for the request: a local plain or gzip FASTA is bgzip-compressed and
    indexed beside it (``say`` tells the user), a local bgzip one indexed when its ``.fai``/``.gzi``
    are missing; a remote one (``s3://``, ``https://``) is used as it is."""
    from pathlib import Path

    if "://" in location and not location.startswith("file://"):
        return location
    path = Path(location.removeprefix("file://")).resolve()
    if not path.is_file():
        raise AnnotationError(f"the genome {path} does not exist")
    with path.open("rb") as probe:
        head = probe.read(16)
    bgzip = head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"
    target = path
    if not bgzip:
        import gzip
        import shutil

        import pysam

        stem = path.name.removesuffix(".gz")
        target = path.with_name(stem + ".gz" if head[:2] != b"\x1f\x8b" else stem + ".bgz.gz")
        if not target.exists():
            plain = target.with_name(target.name + ".plain")
            try:
                with gzip.open(path) if head[:2] == b"\x1f\x8b" else path.open("rb") as source, plain.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                pysam.tabix_compress(str(plain), str(target))
            except OSError as error:
                raise AnnotationError(
                    f"{path} is not bgzip-compressed and {target} could not be written ({error}): "
                    f"'bgzip -c {path} > {target}' then 'samtools faidx {target}'"
                ) from error
            finally:
                plain.unlink(missing_ok=True)
        say(f"{path.name} is not bgzip-compressed, so it cannot be read by ranges: using {target} (bgzip)")
    if not (Path(f"{target}.fai").is_file() and Path(f"{target}.gzi").is_file()):
        import pysam

        pysam.faidx(str(target))
        say(f"indexed {target.name} (.fai, .gzi)")
    return str(target)


def build_job(
    genome: Any,
    fasta_url: str,
    annotation: str,
    names: list[str],
    variants: str | None = None,
    grouping: str = "record",
    seq_map: dict[str, str] | None = None,
    auto_names: bool = False,
    sets: dict[str, list[str]] | None = None,
) -> Built:
    """The request's entries: ``genome`` is the opened FASTA (:class:`pavi.domain.genome.IndexedFasta`)."""
    from pavi.domain.annotation import select_transcripts
    from pavi.domain.variant_calls import check_contigs, index_of, read_calls

    if grouping not in {"record", "all", "sample"} and not grouping.startswith("set:"):
        raise AnnotationError(f"--group {grouping!r}: one of {', '.join(GROUPINGS)}")
    selection = select_transcripts(annotation, names)
    if selection.problems:
        raise AnnotationError("; ".join(selection.problems.values()))
    lengths = {name: record.length for name, record in genome.records.items()}
    mapping = seq_names({t.seq_id for t in selection.transcripts}, lengths, seq_map or {}, auto_names)
    entries = [entry_of(t, fasta_url, mapping[t.seq_id]) for t in selection.transcripts]
    built = Built([])
    if not variants:
        built.entries = entries
        return built
    index_of(variants)  # made when it can be, else an error saying how
    contigs = vcf_contigs(variants)
    to_vcf = {}
    for fasta_name in sorted({e["seq_id"] for e in entries}):
        spellings = [fasta_name] + [vcf for vcf, fasta in (seq_map or {}).items() if fasta == fasta_name]
        others = other_spellings(fasta_name)
        found = next((name for name in spellings + (others if auto_names else []) if name in contigs), None)
        if found:
            to_vcf[fasta_name] = found
            continue
        near = next((name for name in others if name in contigs), None)
        if near:
            raise AnnotationError(
                f"{variants} names {near} where the FASTA names {fasta_name}: add --seq-map {near}={fasta_name} "
                "(or --seq-map auto)"
            )
        built.notes.append(f"{variants} has no sequence {fasta_name}: no variants there")
    check_contigs(variants, lengths, {vcf: fasta for fasta, vcf in to_vcf.items()})
    regions = [(to_vcf[e["seq_id"]], *span(e)) for e in entries if e["seq_id"] in to_vcf]
    calls = read_calls(variants, regions, genome, {vcf: fasta for fasta, vcf in to_vcf.items()})
    built.notes += [f"refused: {why}" for why in calls.refused]
    for entry in entries:
        mine = overlapping(entry, calls.calls)
        alternatives = grouped(entry, mine, grouping, sets or {})
        if not mine:
            built.notes.append(f"{entry['unique_entry_id']}: no variant of {variants} in it")
        built.entries += alternatives
    return built
