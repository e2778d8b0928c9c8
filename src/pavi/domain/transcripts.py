"""Transcripts, coding sequences, translation and ORFs (SPEC section 2).

A :class:`Transcript` is the spliced exon sequence in transcript orientation (5' to 3'),
with the map between genomic positions and 0-based transcript indices. Everything
downstream (the CDS, the ORF fallback, variant embedding) works in transcript indices,
so both strands follow one code path.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from Bio.Seq import reverse_complement
from Bio.Seq import translate as bio_translate

from pavi.domain.errors import SequenceError, UnalignableSequence
from pavi.domain.limits import MAX_PROTEIN_RESIDUES
from pavi.domain.regions import CdsRegion, Region
from pavi.domain.request import Entry, Strand
from pavi.domain.splicing import SpliceSites

STOP_CODONS = frozenset({"TAA", "TAG", "TGA"})  # the standard genetic code
START_CODON = "ATG"

FetchBases = Callable[[str, int, int], str]
"""``fetch(seq_id, start, end)``: plus-strand bases of a 1-based inclusive region."""


def revcomp(bases: str) -> str:
    """Reverse complement of a DNA string."""
    return str(reverse_complement(bases))  # type: ignore[no-untyped-call]


def in_transcript_order[R: Region](regions: Sequence[R], strand: Strand) -> list[R]:
    """Regions 5' to 3': ascending on the plus strand, descending on the minus strand."""
    return sorted(regions, key=lambda r: r.start, reverse=(strand == "-"))


def translate(coding: str) -> str:
    """Protein of a coding sequence read from its first base, standard code, to the first stop.

    A trailing partial codon is dropped; the protein carries no ``*``; a codon with an
    ambiguous base gives ``X``.
    """
    whole = coding[: len(coding) - len(coding) % 3]
    return str(bio_translate(whole, table=1, to_stop=True))  # type: ignore[no-untyped-call]


def first_stop(seq: str, start: int, end: int | None = None) -> int | None:
    """Index of the first in-frame stop codon at or after ``start`` (codons wholly before ``end``)."""
    limit = len(seq) if end is None else min(end, len(seq))
    for i in range(start, limit - 2, 3):
        if seq[i : i + 3] in STOP_CODONS:
            return i
    return None


def longest_orf(seq: str) -> tuple[int, int]:
    """``(start, stop_end)`` of the longest ATG...stop ORF of ``seq``, stop codon included.

    The ORF must end with a stop codon. Ties go to the 5'-most ORF. Raises
    :class:`SequenceError` when there is none.
    """
    best: tuple[int, int] | None = None
    for frame in range(3):
        i = frame
        while i + 3 <= len(seq):
            if seq[i : i + 3] == START_CODON:
                stop = first_stop(seq, i)
                if stop is None:
                    break  # no stop in this frame from here on
                candidate = (i, stop + 3)
                if best is None or candidate[1] - candidate[0] > best[1] - best[0]:
                    best = candidate  # strictly longer: ties keep the 5'-most ORF
                i = stop + 3
            else:
                i += 3
    if best is None:
        raise SequenceError("No open reading frames found")
    return best


@dataclass(frozen=True)
class Transcript:
    """A spliced transcript: its sequence (5' to 3') and its exons in transcript order.

    Genomic positions map to transcript indices by a binary search over the exons, so an
    entry's work grows as (exons + variants) x log(exons), not as their product.
    """

    seq_id: str
    strand: Strand
    exons: tuple[Region, ...]
    seq: str
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _by_start: tuple[tuple[Region, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offsets = itertools.accumulate((exon.length for exon in self.exons), initial=0)
        by_start = sorted(zip(self.exons, offsets, strict=False), key=lambda pair: pair[0].start)
        object.__setattr__(self, "_by_start", tuple(by_start))
        object.__setattr__(self, "_starts", tuple(exon.start for exon, _ in by_start))

    @classmethod
    def build(cls, entry: Entry, fetch: FetchBases) -> Transcript:
        exons = in_transcript_order(entry.exon_seq_regions, entry.seq_strand)
        parts = []
        for exon in exons:
            bases = fetch(entry.seq_id, exon.start, exon.end)
            parts.append(revcomp(bases) if entry.seq_strand == "-" else bases)
        return cls(entry.seq_id, entry.seq_strand, tuple(exons), "".join(parts))

    @cached_property
    def splice_sites(self) -> SpliceSites:
        """Its introns' splice sites, by position (built once per transcript)."""
        return SpliceSites(self)

    @property
    def low(self) -> int:
        """The lowest genomic position of its exons."""
        return min(exon.start for exon in self.exons)

    @property
    def high(self) -> int:
        """The highest genomic position of its exons."""
        return max(exon.end for exon in self.exons)

    def index_of(self, position: int) -> int | None:
        """0-based transcript index of a genomic position, or None outside the exons."""
        at = bisect.bisect_right(self._starts, position) - 1
        if at < 0:
            return None
        exon, offset = self._by_start[at]
        if position > exon.end:
            return None
        return offset + (position - exon.start if self.strand == "+" else exon.end - position)

    def contains_an_exon(self, start: int, end: int) -> bool:
        """Whether genomic ``start..end`` holds one of its exons whole."""
        at = bisect.bisect_left(self._starts, start)
        return at < len(self._starts) and self._by_start[at][0].end <= end

    def span_of(self, region: Region) -> tuple[int, int]:
        """Transcript indices ``[first, last]`` of a region lying inside one exon."""
        a, b = self.index_of(region.start), self.index_of(region.end)
        if a is None or b is None or abs(b - a) != region.end - region.start:
            raise SequenceError(f"region {region} does not lie inside one exon")
        return min(a, b), max(a, b)


@dataclass(frozen=True)
class CodingFrame:
    """Where the protein is read in the transcript.

    ``start`` is the index of the first base of the first whole codon (after the phase),
    ``end`` the index after the last coding base (the stop codon included when present),
    ``spans`` the CDS regions' transcript intervals in order.
    """

    start: int
    end: int
    spans: tuple[tuple[int, int], ...]
    from_orf: bool = False
    computed_phases: tuple[int, ...] | None = None  # the CDS regions' phases, when computed (string regions)

    @property
    def contiguous(self) -> bool:
        return all(b[0] == a[1] + 1 for a, b in itertools.pairwise(self.spans))

    def coding_sequence(self, transcript: Transcript) -> str:
        """The coding sequence from the first whole codon: the CDS regions joined, phase skipped."""
        joined = "".join(transcript.seq[a : b + 1] for a, b in self.spans)
        return joined[self.start - self.spans[0][0] :]


def coding_frame(entry: Entry, transcript: Transcript) -> CodingFrame:
    """The CDS of an entry in transcript indices, or the longest ORF when it has no CDS regions."""
    if not entry.cds_seq_regions:
        start, end = longest_orf(transcript.seq)
        return CodingFrame(start, end, ((start, end - 1),), from_orf=True)
    cds: list[CdsRegion] = in_transcript_order(entry.cds_seq_regions, entry.seq_strand)
    spans = tuple(sorted(transcript.span_of(region) for region in cds))
    for left, right in itertools.pairwise(spans):  # each base of the CDS read once
        if right[0] <= left[1]:
            raise SequenceError(f"CDS regions overlap in the transcript (indices {left} and {right})")
    if cds[0].frame is not None:
        return CodingFrame(spans[0][0] + cds[0].frame, spans[-1][1] + 1, spans)
    frame = CodingFrame(spans[0][0], spans[-1][1] + 1, spans, computed_phases=gff3_phases(cds))
    coding = frame.coding_sequence(transcript)
    if coding[:3].upper() != "ATG":
        why = f"it starts with {coding[:3] or 'nothing'}, not ATG"
    elif len(coding) % 3:
        why = f"its {len(coding)} bases are not whole codons"
    else:
        return frame
    raise SequenceError(
        f"the CDS regions are written as 'start..end' strings, which carry no frame, and their frames "
        f"cannot be computed ({why}): give each CDS region as {{'start', 'end', 'frame'}}"
    )


def gff3_phases(cds: list[CdsRegion]) -> tuple[int, ...]:
    """Each CDS region's phase (in transcript order) for a CDS read from its first base, as GFF3
    defines it: the bases to skip at the region's 5' end to reach its first whole codon."""
    phases, before = [], 0
    for region in cds:
        phases.append((3 - before % 3) % 3)
        before += region.length
    return tuple(phases)


def reference_protein(transcript: Transcript, frame: CodingFrame) -> str:
    coding = frame.coding_sequence(transcript)
    protein = translate(coding)
    if not protein:
        raise SequenceError("the coding sequence translates to an empty protein (it starts with a stop codon)")
    check_protein(protein, len(coding))
    return protein


def check_protein(protein: str, coding_bases: int | None = None) -> None:
    """Raise :class:`SequenceError` unless ``protein`` agrees with the ``coding_bases`` it was
    read from, when given (no more residues than whole codons), and can be aligned: at most
    :data:`MAX_PROTEIN_RESIDUES` residues, not all unknown (``X``: a CDS over ``N`` bases)."""
    if coding_bases is not None and len(protein) > coding_bases // 3:
        raise SequenceError(f"a protein of {len(protein)} residues cannot come from {coding_bases} coding bases")
    if len(protein) > MAX_PROTEIN_RESIDUES:
        raise SequenceError(
            f"the protein has {len(protein):,} residues: at most {MAX_PROTEIN_RESIDUES:,} can be aligned"
        )
    if not protein.strip("X"):
        raise UnalignableSequence(
            f"the protein is {len(protein)} unknown residues (X): its coding sequence reads only N "
            "(unknown) bases, so it cannot be aligned"
        )
