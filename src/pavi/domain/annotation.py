"""Transcripts from a genome annotation: GFF3 or GTF, plain, gzip or bgzip (issue 30).

A strict reader of the two formats' transcript models (``docs/decisions.md`` §30 says why not a
library's): a transcript is a feature with exon or CDS children (GFF3: ``Parent``, several parents
allowed; GTF: ``transcript_id``), its gene the feature it names as parent (GFF3) or its
``gene_id`` (GTF). Its identifiers are those Ensembl, RefSeq/NCBI, GENCODE, FlyBase/WormBase and
gffread write: ``ID`` (with or without a ``transcript:`` prefix), ``transcript_id``, ``Name``;
a gene's ``ID``, ``gene_id``, ``Name``, ``gene_name``, ``gene`` and ``locus_tag``. A version suffix
(``ENST00000367770.8``) may be left out of a query.

Finding transcripts by name needs one look at every line: the file is searched for the names
in large blocks with one regular expression (C speed: a 1.5 M-line GFF3 in about a second), and
only the lines that hold one are parsed. Their exons and CDS parts are then read by region when
the file is bgzip-compressed with a tabix index (``pysam``), else by a second search for the
transcripts' IDs. GTF's CDS leaves out the stop codon: its ``stop_codon`` features are joined to
it, so that a variant in the stop codon is a coding change, as in GFF3.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from pavi.domain.errors import PaviError

BLOCK = 16 * 1024 * 1024
TRANSCRIPT_KEYS = ("ID", "transcript_id", "Name")
GENE_KEYS = ("ID", "gene_id", "Name", "gene_name", "gene", "locus_tag")
CODING_TYPES = {"CDS", "stop_codon"}


class AnnotationError(PaviError):
    """The annotation cannot give what was asked (a clear reason, and what to do)."""


@dataclass
class Transcript:
    """One transcript's model, 1-based inclusive coordinates on the plus strand."""

    transcript_id: str
    seq_id: str
    strand: str
    name: str = ""
    gene_id: str = ""
    gene_name: str = ""
    biotype: str = ""
    exons: list[tuple[int, int]] = field(default_factory=list)
    cds: list[tuple[int, int, int | None]] = field(default_factory=list)  # start, end, phase (None: '.')
    stop_codons: list[tuple[int, int]] = field(default_factory=list)  # GTF's, outside its CDS
    aliases: set[str] = field(default_factory=set)  # its other names: ID, transcript_id, Name

    def coding_parts(self) -> list[tuple[int, int, int | None]]:
        """The CDS parts with GTF's stop codon joined (merged where they touch), in genome order."""
        parts = sorted(self.cds)
        for start, end in self.stop_codons:
            if any(s <= start and end <= e for s, e, _ in parts):
                continue  # the CDS holds it already (GFF3's way, or gffread's)
            touching = [i for i, (s, e, _) in enumerate(parts) if s == end + 1 or e == start - 1]
            if touching:
                s, e, phase = parts[touching[0]]
                parts[touching[0]] = (min(s, start), max(e, end), phase)
            else:  # the stop codon alone in its exon, or split across one
                parts.append((start, end, 0))
        return sorted(parts)


def _attributes_gff3(text: str) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for pair in text.strip().strip(";").split(";"):
        if "=" in pair:
            key, value = pair.split("=", 1)
            attributes[unquote(key.strip())] = [unquote(v) for v in value.split(",")]
    return attributes


_GTF_PAIR = re.compile(r'\s*([^\s;"]+)\s+(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))\s*;?')


def _attributes_gtf(text: str) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for match in _GTF_PAIR.finditer(text):
        attributes.setdefault(match[1], []).append(match[2] if match[2] is not None else match[3])
    return attributes


@dataclass(frozen=True)
class Feature:
    seq_id: str
    kind: str
    start: int
    end: int
    strand: str
    phase: int | None
    attributes: dict[str, list[str]]

    def first(self, *keys: str) -> str:
        return next((values[0] for key in keys if (values := self.attributes.get(key))), "")


def parse_line(line: str, gtf: bool, where: str) -> Feature | None:
    """One feature line (None for a comment or blank line); AnnotationError when malformed."""
    if not line.strip() or line.startswith("#"):
        return None
    columns = line.rstrip("\r\n").split("\t")
    if len(columns) != 9:
        raise AnnotationError(f"{where}: {len(columns)} tab-separated columns, not 9: {line[:120]!r}")
    seq_id, _, kind, start, end, _, strand, phase, attributes = columns
    try:
        low, high = int(start), int(end)
    except ValueError:
        raise AnnotationError(f"{where}: start {start!r} and end {end!r} must be whole numbers") from None
    if phase not in {".", "0", "1", "2"}:
        raise AnnotationError(f"{where}: phase {phase!r} must be 0, 1, 2 or '.'")
    parsed = _attributes_gtf(attributes) if gtf else _attributes_gff3(attributes)
    return Feature(unquote(seq_id), kind, low, high, strand, None if phase == "." else int(phase), parsed)


def is_gtf(path: str) -> bool:
    """GTF by its name (``.gtf``, ``.gtf.gz``), else by its first feature's attributes."""
    name = path.lower().removesuffix(".gz").removesuffix(".bgz")
    if name.endswith(".gtf"):
        return True
    if name.endswith((".gff3", ".gff")):
        return False
    with open_text(path) as handle:
        for line in handle:
            if line.startswith("##gff-version"):
                return False
            if line.strip() and not line.startswith("#"):
                return "=" not in line.split("\t")[-1]
    return False


def open_text(path: str) -> IO[str]:
    """The annotation's text: plain, gzip or bgzip (a bgzip file is a gzip file)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    if compressed:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def token_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """A name as a whole word of an attribute (after ``=``, ``:``, ``,``, a quote or a blank),
    with or without a version suffix when it has none."""
    alternatives = sorted({re.escape(name) for name in names if name}, key=len, reverse=True)
    if not alternatives:
        raise AnnotationError("no transcript, gene or gene name was given")
    return re.compile(r'(?:(?<=[=:,"\s])|^)(?:' + "|".join(alternatives) + r')(?:\.\d+)?(?=[;,"\s]|$)', re.MULTILINE)


def matching_lines(path: str, pattern: re.Pattern[str]) -> Iterator[str]:
    """The lines of the annotation that hold a match, searched block by block."""
    with open_text(path) as handle:
        carry = ""
        while True:
            block = handle.read(BLOCK)
            if not block:
                break
            text = carry + block
            cut = text.rfind("\n") + 1
            text, carry = text[:cut], text[cut:]
            yield from _lines_with(text, pattern)
        if carry:
            yield from _lines_with(carry + "\n", pattern)


def _lines_with(text: str, pattern: re.Pattern[str]) -> Iterator[str]:
    last = -1
    for match in pattern.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        if start <= last:
            continue
        end = text.find("\n", match.end())
        last = end
        yield text[start:end]


def bare(identifier: str) -> str:
    """An identifier without its type prefix (Ensembl's ``transcript:``, WormBase's ``Transcript:``)."""
    return identifier.split(":", 1)[1] if re.match(r"^[A-Za-z_]+:", identifier) else identifier


def unversioned(identifier: str) -> str:
    return re.sub(r"\.\d+$", "", identifier)


def names_of(feature: Feature, keys: tuple[str, ...]) -> set[str]:
    names = {value for key in keys for value in feature.attributes.get(key, [])}
    names |= {bare(name) for name in names}
    return names | {unversioned(name) for name in names}


def tabix_path(path: str) -> str | None:
    """The tabix index beside a bgzip annotation, if there is one."""
    return next((path + suffix for suffix in (".tbi", ".csi") if Path(path + suffix).is_file()), None)


CHILD_KINDS = {"exon", "CDS", "stop_codon"}


@dataclass
class Selection:
    """What a selection found: the chosen transcripts, in the order asked, and each name's own
    account when it found nothing to align (unknown, non-coding, no protein-coding transcript)."""

    transcripts: list[Transcript]
    problems: dict[str, str]


def select_transcripts(path: str, queries: list[str]) -> Selection:
    """The protein-coding transcripts that ``queries`` name: transcript IDs (all of them), gene IDs
    or gene names (all of the gene's transcripts that have a CDS)."""
    gtf = is_gtf(path)
    features = _gather(path, queries, gtf)
    transcripts, genes = _models(features, gtf)
    chosen: dict[str, Transcript] = {}
    problems: dict[str, str] = {}
    unknown: list[str] = []
    for query in queries:
        named = [t for t in transcripts.values() if query in _transcript_names(t)]
        if named:
            coding = [t for t in named if t.cds]
            if not coding:
                kind = f" ({named[0].biotype})" if named[0].biotype else ""
                problems[query] = f"transcript {query} has no CDS: it is non-coding{kind}, so it has no protein"
            chosen.update((t.transcript_id, t) for t in coding)
            continue
        of_gene = [t for key, t in transcripts.items() if query in genes.get(key, set())]
        coding = [t for t in of_gene if t.cds]
        if coding:
            chosen.update((t.transcript_id, t) for t in sorted(coding, key=lambda t: t.transcript_id))
        elif of_gene:
            count = f"{len(of_gene)} transcript{'s' if len(of_gene) > 1 else ''}, none with a CDS"
            problems[query] = f"gene {query} has no protein-coding transcript ({count})"
        else:
            unknown.append(query)
    problems.update(_unknown(path, unknown))
    return Selection(list(chosen.values()), problems)


def _gather(path: str, queries: list[str], gtf: bool) -> list[Feature]:
    """The features the queries need: the lines that name them, then (GFF3) their children's
    lines, by region with a tabix index, else by searching for their IDs."""
    lines = dict.fromkeys(matching_lines(path, token_pattern(queries)))
    features = [f for line in lines if (f := parse_line(line, gtf, path))]
    if gtf or not features:
        return features
    if tabix_path(path):
        return _by_region(path, features)
    searched = set(queries)
    for _ in range(2):  # a gene's transcripts, then their exons and CDS
        wanted = {i for f in features for i in f.attributes.get("ID", [])} - searched
        if not wanted:
            break
        searched |= wanted
        more = [line for line in matching_lines(path, token_pattern(wanted)) if line not in lines]
        lines.update(dict.fromkeys(more))
        features += [f for line in dict.fromkeys(more) if (f := parse_line(line, gtf, path))]
    return features


def _by_region(path: str, features: list[Feature]) -> list[Feature]:
    """Every feature overlapping those found, read through the tabix index: each found feature's
    interval (overlapping ones merged), so that genes far apart read only their own lines."""
    import pysam

    intervals = sorted((f.seq_id, f.start, f.end) for f in features)
    merged: list[list[Any]] = []
    for seq_id, start, end in intervals:
        if merged and merged[-1][0] == seq_id and start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([seq_id, start, end])
    lines: dict[str, None] = {}
    with pysam.TabixFile(path) as tabix:
        for seq_id, start, end in merged:
            lines.update(dict.fromkeys(tabix.fetch(seq_id, start - 1, end)))
    return [f for line in lines if (f := parse_line(line, False, path))]


def _models(features: list[Feature], gtf: bool) -> tuple[dict[str, Transcript], dict[str, set[str]]]:
    """The transcripts among the features (those with exon or CDS children), and each one's gene names."""
    by_id = {f.first("ID"): f for f in features if f.first("ID") and f.kind not in CHILD_KINDS}
    transcripts: dict[str, Transcript] = {}
    for feature in features:
        if feature.kind not in CHILD_KINDS:
            continue
        parents = feature.attributes.get("transcript_id", [])[:1] if gtf else feature.attributes.get("Parent", [])
        for parent in parents:
            model = transcripts.get(parent)
            if model is None:
                model = transcripts[parent] = _transcript(parent, feature, by_id.get(parent), gtf)
            if feature.kind == "exon":
                model.exons.append((feature.start, feature.end))
            elif feature.kind == "CDS":
                model.cds.append((feature.start, feature.end, feature.phase))
            else:
                model.stop_codons.append((feature.start, feature.end))
    genes: dict[str, set[str]] = {}
    for transcript_id, model in transcripts.items():
        own = by_id.get(transcript_id)
        names = {model.gene_id, model.gene_name} - {""}
        if own is not None:
            names |= names_of(own, ("gene", "gene_id", "gene_name", "locus_tag"))
            for parent in own.attributes.get("Parent", []):
                if parent in by_id:
                    names |= names_of(by_id[parent], GENE_KEYS)
        genes[transcript_id] = names
    return transcripts, genes


def _transcript(transcript_id: str, child: Feature, own: Feature | None, gtf: bool) -> Transcript:
    source = own if own is not None else child
    gene_id = child.first("gene_id") if gtf else (source.first("Parent") or source.first("gene_id"))
    named = "" if gtf or own is None else own.first("transcript_id")  # RefSeq's: NM_..., its ID rna-NM_...
    return Transcript(
        transcript_id=named or bare(transcript_id),
        aliases=names_of(own, TRANSCRIPT_KEYS) if own is not None else {bare(transcript_id)},
        seq_id=child.seq_id,
        strand=child.strand,
        name=source.first("Name", "transcript_name") or "",
        gene_id=bare(gene_id),
        gene_name=source.first("gene_name", "gene") if gtf or own is None else own.first("gene_name", "gene"),
        biotype=source.first("transcript_biotype", "transcript_type", "biotype") or (own.kind if own else ""),
    )


def _transcript_names(model: Transcript) -> set[str]:
    names = {model.transcript_id, unversioned(model.transcript_id)} | model.aliases
    if model.name:
        names.add(model.name)
    return names


def _unknown(path: str, queries: list[str]) -> dict[str, str]:
    """Each query that names nothing, said so with the closest names the annotation has (one
    reading of the file for them all)."""
    import difflib

    if not queries:
        return {}
    pattern = re.compile(r'(?:\bID=|\bName=|gene_name[= ]"?|gene_id[= ]"?|transcript_id[= ]"?|\bgene=)([^;"\t\n]+)')
    grams = {query: {query[i : i + 3].lower() for i in range(max(1, len(query) - 2))} for query in queries}
    candidates: dict[str, set[str]] = {query: set() for query in queries}
    with open_text(path) as handle:
        for block in iter(lambda: handle.read(BLOCK), ""):
            for match in pattern.finditer(block):
                name = bare(match[1])
                for query, its in grams.items():
                    if any(gram in name.lower() for gram in its):
                        candidates[query].add(name)
    said = {}
    for query in queries:
        close = difflib.get_close_matches(query, sorted(candidates[query]), n=5, cutoff=0.6)
        hint = f"; the closest names there: {', '.join(close)}" if close else ""
        said[query] = f"{query!r} is not a transcript ID, gene ID or gene name of {path}{hint}"
    return said
