"""Transcripts, coding sequences, translation and ORFs (SPEC section 2).

A :class:`Transcript` is the spliced exon sequence in transcript orientation (5' to 3'),
with the map between genomic positions and 0-based transcript indices. Everything
downstream (the CDS, the ORF fallback, variant embedding) works in transcript indices,
so both strands follow one code path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from Bio.Seq import reverse_complement
from Bio.Seq import translate as bio_translate

from pavi.domain.errors import SequenceError
from pavi.domain.request import CdsRegion, Entry, Region, Strand

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
    """A spliced transcript: its sequence (5' to 3') and its exons in transcript order."""

    seq_id: str
    strand: Strand
    exons: tuple[Region, ...]
    seq: str

    @classmethod
    def build(cls, entry: Entry, fetch: FetchBases) -> Transcript:
        exons = in_transcript_order(entry.exon_seq_regions, entry.seq_strand)
        parts = []
        for exon in exons:
            bases = fetch(entry.seq_id, exon.start, exon.end)
            parts.append(revcomp(bases) if entry.seq_strand == "-" else bases)
        return cls(entry.seq_id, entry.seq_strand, tuple(exons), "".join(parts))

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
        offset = 0
        for exon in self.exons:
            if exon.start <= position <= exon.end:
                inside = position - exon.start if self.strand == "+" else exon.end - position
                return offset + inside
            offset += exon.length
        return None

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
    phase = cds[0].frame
    return CodingFrame(spans[0][0] + phase, spans[-1][1] + 1, spans)


def reference_protein(transcript: Transcript, frame: CodingFrame) -> str:
    protein = translate(frame.coding_sequence(transcript))
    if not protein:
        raise SequenceError("the coding sequence translates to an empty protein (it starts with a stop codon)")
    return protein
