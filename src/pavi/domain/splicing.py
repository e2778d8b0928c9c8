"""The canonical splice sites of a transcript's introns, and the variants that change them.

Each intron between two of the transcript's exons has a donor site (its first two bases in
transcript orientation, GT in the canonical case) and an acceptor site (its last two, AG).
A variant that changes one of them, or inserts bases at an exon/intron junction, leaves the
real mRNA unpredictable (exon skipping, intron retention, a cryptic site): the alternative
protein is not computed as if splicing were unchanged (issue 13, ``docs/decisions.md`` §20).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pavi.domain.transcripts import Transcript
    from pavi.domain.variants import Variant


@dataclass(frozen=True)
class SpliceSite:
    """One splice site: the genomic (plus-strand) dinucleotide ``low..low + 1`` of an intron.

    ``exon_gap`` is the insertion point (between ``exon_gap`` and ``exon_gap + 1``) joining the
    site to its exon: an insertion there, or inside the dinucleotide, moves or breaks the site.
    """

    kind: Literal["donor", "acceptor"]
    intron: int  # 1-based, in transcript order
    low: int
    exon_gap: int

    def changed_by(self, variant: Variant) -> bool:
        start, end = variant.genomic_start_pos, variant.genomic_end_pos
        if variant.is_insertion:
            return start in (self.low, self.exon_gap)
        return start <= self.low + 1 and self.low <= end

    def describe(self, seq_id: str) -> str:
        which = "first" if self.kind == "donor" else "last"
        return (
            f"the {self.kind} splice site of intron {self.intron} "
            f"({seq_id}:{self.low}-{self.low + 1}, the intron's {which} two bases)"
        )


def splice_sites(transcript: Transcript) -> list[SpliceSite]:
    """The donor and acceptor site of every intron between consecutive exons, 5' to 3'."""
    sites: list[SpliceSite] = []
    for number, (upstream, downstream) in enumerate(itertools.pairwise(transcript.exons), start=1):
        first, last = sorted((upstream, downstream), key=lambda exon: exon.start)
        intron_start, intron_end = first.end + 1, last.start - 1
        if intron_end - intron_start < 1:
            continue  # no intron (abutting exons) or a one-base one: no dinucleotide to break
        low_site = (intron_start, intron_start - 1)  # its low dinucleotide, joined to the exon before it
        high_site = (intron_end - 1, intron_end)  # its high dinucleotide, joined to the exon after it
        donor, acceptor = (low_site, high_site) if transcript.strand == "+" else (high_site, low_site)
        sites.append(SpliceSite("donor", number, *donor))
        sites.append(SpliceSite("acceptor", number, *acceptor))
    return sites


class SpliceSites:
    """A transcript's splice sites, found by position: the sites a variant may change are
    those whose dinucleotide starts from two bases before it to one base after it, one binary
    search away (a transcript of 14,000 exons and 9,000 variants is not 126 million tests)."""

    def __init__(self, transcript: Transcript):
        self.sites = splice_sites(transcript)
        self.order = sorted(range(len(self.sites)), key=lambda i: self.sites[i].low)
        self.lows = [self.sites[i].low for i in self.order]

    def changed_by(self, variant: Variant) -> SpliceSite | None:
        """The 5'-most site the variant changes, or None."""
        first = bisect.bisect_left(self.lows, variant.genomic_start_pos - 2)
        last = bisect.bisect_right(self.lows, variant.genomic_end_pos + 1)
        changed = [i for i in self.order[first:last] if self.sites[i].changed_by(variant)]
        return self.sites[min(changed)] if changed else None


def changed_splice_site(variant: Variant, transcript: Transcript) -> tuple[str, str] | None:
    """Why ``variant`` makes the transcript's splicing unpredictable, and its SO term
    (``splice_donor_variant`` or ``splice_acceptor_variant``), or None when it does not."""
    if variant.genomic_seq_id != transcript.seq_id:
        return None
    site = transcript.splice_sites.changed_by(variant)
    if site is None:
        return None
    term = f"splice_{site.kind}_variant"
    if variant.is_insertion:
        return (
            f"variant {variant.variant_id}: inserts between {variant.genomic_start_pos} and "
            f"{variant.genomic_end_pos}, at {site.describe(transcript.seq_id)}; the mRNA cannot be "
            "predicted (splice site changed), so no alternative protein is made"
        ), term
    return (
        f"variant {variant.variant_id}: changes {site.describe(transcript.seq_id)}; the mRNA "
        "cannot be predicted (splice site changed), so no alternative protein is made"
    ), term
