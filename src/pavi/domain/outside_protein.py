"""Variants the protein does not carry, accounted for (issue 28, item 5): each with its Sequence
Ontology term, as Ensembl VEP names the region it lies in, and why it is not in the protein.

- outside the transcript: ``upstream_gene_variant`` (5' of it, within 5,000 bases, VEP's default
  distance), ``downstream_gene_variant`` (3'), ``intergenic_variant`` farther away; on another
  sequence: no term (the transcript cannot be affected);
- in an intron (its splice sites are an error of the entry: :mod:`pavi.domain.splicing`):
  ``intron_variant``, with ``splice_region_variant`` when it lies within 3 to 8 bases of an exon
  (VEP's splice region on the intron's side);
- in an exon but outside the coding region: ``5_prime_UTR_variant`` / ``3_prime_UTR_variant``
  (written by :mod:`pavi.domain.consequence`, described here with the reason).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pavi.domain.transcripts import Transcript
    from pavi.domain.variants import Variant

FLANK = 5000  # VEP's --distance default: upstream/downstream within it, intergenic beyond
SPLICE_REGION_INTRONIC = (3, 8)  # bases into the intron from the exon: VEP's splice region


def outside_exons(variant: Variant, transcript: Transcript) -> dict[str, Any]:
    """A variant wholly outside the transcript's exons: its terms and why the protein lacks it."""
    start, end = variant.genomic_start_pos, variant.genomic_end_pos
    said: dict[str, Any] = {"variant_id": variant.variant_id}
    if variant.genomic_seq_id != transcript.seq_id:
        reason = f"on {variant.genomic_seq_id}, not on the transcript's sequence {transcript.seq_id}"
        return {**said, "consequence": [], "reason": reason}
    low, high = transcript.low, transcript.high
    if end < low or start > high:
        before = end < low if transcript.strand == "+" else start > high
        distance = (low - end) if end < low else (start - high)
        if distance > FLANK:
            terms = ["intergenic_variant"]
        else:
            terms = ["upstream_gene_variant" if before else "downstream_gene_variant"]
        side = "5'" if before else "3'"
        reason = f"{distance} bases {side} of the transcript ({transcript.seq_id}:{low}-{high})"
        return {**said, "consequence": terms, "reason": reason}
    terms = ["intron_variant"]
    nearest = min(_distance_to_exon(position, transcript) for position in (start, end))
    if SPLICE_REGION_INTRONIC[0] <= nearest <= SPLICE_REGION_INTRONIC[1]:
        terms.insert(0, "splice_region_variant")
    reason = f"in an intron, {nearest} bases from the nearest exon: spliced out of the mRNA"
    return {**said, "consequence": terms, "reason": reason}


def _distance_to_exon(position: int, transcript: Transcript) -> int:
    """Bases from an intronic position to the nearest exon base (1: next to it)."""
    return min(min(abs(position - exon.start), abs(position - exon.end)) for exon in transcript.exons)


def in_untranslated_region(variant: Variant, terms: list[str]) -> dict[str, Any]:
    """A variant in an exon outside the coding region (``terms`` from :mod:`pavi.domain.consequence`)."""
    where = "5' UTR, before the start codon" if "5_prime_UTR_variant" in terms else "3' UTR, after the stop codon"
    return {"variant_id": variant.variant_id, "consequence": terms, "reason": f"in the {where}: not translated"}
