"""Variants: their definition, embedding as transcript edits, and the alternative protein.

Embedding works in transcript indices (see :mod:`pavi.domain.transcripts`): every variant that lies
in an exon becomes an edit ``(first, after, bases)`` of the reference transcript, with its
bases in transcript orientation. The alternative protein is read from the reference start
codon's position in the edited transcript (SPEC section 3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pavi.domain.consequence import ProteinChange, allele_change, edit_change, reference_with_stop
from pavi.domain.errors import SequenceError, VariantError
from pavi.domain.outside_protein import in_untranslated_region, outside_exons
from pavi.domain.regions import InlineVariant
from pavi.domain.splicing import changed_splice_site
from pavi.domain.transcripts import (
    STOP_CODONS,
    CodingFrame,
    FetchBases,
    Transcript,
    first_stop,
    revcomp,
    translate,
)


@dataclass(frozen=True)
class Variant:
    """A genomic variant, plus strand, 1-based inclusive (insertions: the two flanking bases)."""

    variant_id: str
    genomic_seq_id: str
    genomic_start_pos: int
    genomic_end_pos: int
    genomic_ref_seq: str
    genomic_alt_seq: str

    @classmethod
    def from_inline(cls, inline: InlineVariant) -> Variant:
        return cls(inline.variant_id, inline.seq_id, inline.start, inline.end, inline.ref, inline.alt)

    @property
    def seq_length(self) -> int:
        return self.genomic_end_pos - self.genomic_start_pos + 1

    @property
    def substitution_type(self) -> str:
        ref, alt = self.genomic_ref_seq, self.genomic_alt_seq
        if ref and alt and len(ref) == len(alt):
            return "substitution"
        if ref and not alt:
            return "deletion"
        if alt and not ref:
            return "insertion"
        return "indel"

    @property
    def is_insertion(self) -> bool:
        return not self.genomic_ref_seq

    def overlaps(self, other: Variant) -> bool:
        """Whether two variants touch the same reference bases (or insert at the same point)."""
        if self.genomic_seq_id != other.genomic_seq_id:
            return False
        if self.is_insertion and other.is_insertion:
            return self.genomic_start_pos == other.genomic_start_pos
        if self.is_insertion or other.is_insertion:
            ins, span = (self, other) if self.is_insertion else (other, self)
            # an insertion lies between its flanks: inside a span only if both flanks are in it
            return span.genomic_start_pos <= ins.genomic_start_pos and ins.genomic_end_pos <= span.genomic_end_pos
        return self.genomic_start_pos <= other.genomic_end_pos and other.genomic_start_pos <= self.genomic_end_pos

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seq_length"] = self.seq_length
        data["seq_substitution_type"] = self.substitution_type
        return data


def check_variant(variant: Variant) -> None:
    where = f"variant {variant.variant_id}"
    if variant.genomic_start_pos > variant.genomic_end_pos:
        raise VariantError(f"{where}: start {variant.genomic_start_pos} > end {variant.genomic_end_pos}")
    if not variant.genomic_ref_seq and not variant.genomic_alt_seq:
        raise VariantError(f"{where}: has neither a reference nor an alternative sequence")
    if variant.is_insertion and variant.genomic_end_pos != variant.genomic_start_pos + 1:
        raise VariantError(f"{where}: an insertion must give its two flanking bases (end = start + 1)")
    if variant.genomic_ref_seq and len(variant.genomic_ref_seq) != variant.seq_length:
        raise VariantError(
            f"{where}: reference sequence has {len(variant.genomic_ref_seq)} bases, "
            f"its location spans {variant.seq_length}"
        )


@dataclass(frozen=True)
class Edit:
    """A variant as an edit of the transcript: replace ``[first, after)`` with ``bases``."""

    variant: Variant
    first: int
    after: int
    bases: str

    @property
    def shift(self) -> int:
        """Bases the edit adds to the transcript (negative: removes)."""
        return len(self.bases) - (self.after - self.first)


def variant_edit(variant: Variant, transcript: Transcript) -> Edit | None:
    """The variant's edit of the transcript; None when it lies wholly outside the exons.

    Its reference allele has been checked against the genome (:func:`check_reference`).
    """
    where = f"variant {variant.variant_id}"
    if variant.genomic_seq_id != transcript.seq_id:
        return None
    start, end = variant.genomic_start_pos, variant.genomic_end_pos
    bases = revcomp(variant.genomic_alt_seq) if transcript.strand == "-" else variant.genomic_alt_seq
    a, b = transcript.index_of(start), transcript.index_of(end)
    if a is not None and b is not None and abs(b - a) != end - start and not bases:
        # a deletion from one exon into another: every intron between is deleted whole and the
        # exons on either side are fused (the previous PAVI's answer, issue 13)
        return Edit(variant, min(a, b), max(a, b) + 1, "")
    splice = changed_splice_site(variant, transcript)
    if splice:
        raise VariantError(splice[0], consequence=[splice[1]])
    if a is None and b is None and not transcript.contains_an_exon(start, end):
        return None  # in an intron (not at its splice sites) or outside the transcript
    if variant.is_insertion and a is not None and b is not None and abs(a - b) == 1:
        point = max(a, b)
        return Edit(variant, point, point, bases)
    if variant.is_insertion or a is None or b is None or abs(b - a) != end - start:
        # what is left reaches past the first or the last exon's outer end
        raise VariantError(
            f"{where}: it reaches past the transcript's annotated ends "
            f"({transcript.seq_id}:{transcript.low}-{transcript.high}); not embedded"
        )
    first = min(a, b)
    return Edit(variant, first, first + len(variant.genomic_ref_seq), bases)


def check_reference(variant: Variant, fetch: FetchBases) -> None:
    """Raise :class:`VariantError` unless the variant's reference allele is the genome's bases
    (``N`` on either side matches anything), wherever it lies: exon, intron or elsewhere."""
    if variant.is_insertion:
        return
    where = f"variant {variant.variant_id}"
    try:
        genome = fetch(variant.genomic_seq_id, variant.genomic_start_pos, variant.genomic_end_pos)
    except SequenceError as error:
        raise VariantError(f"{where}: its location cannot be read from the genome ({error})") from error
    expected = variant.genomic_ref_seq.upper()
    for offset, (e, g) in enumerate(zip(expected, genome, strict=True)):
        if e != g and "N" not in (e, g):
            whole = f" (reference allele {expected}, genome reads {genome})" if len(expected) > 1 else ""
            raise VariantError(
                f"{where}: reference mismatch at {variant.genomic_seq_id}:{variant.genomic_start_pos + offset}: "
                f"expected {e}, genome has {g}{whole}"
            )


def check_no_overlaps(variants: list[Variant]) -> None:
    """Raise :class:`VariantError` naming two variants that touch the same reference bases (or
    insert at one point), or one ID given twice. One sweep over the variants sorted by position,
    keeping the span reaching furthest so far: n log n, not every pair."""
    order = {id(v): i for i, v in enumerate(variants)}
    reach: dict[str, Variant] = {}  # per sequence: the earlier span (not an insertion) ending last
    inserted_at: dict[tuple[str, int], Variant] = {}
    # at one start, spans before insertions: an insertion then meets a span that starts with it
    for variant in sorted(variants, key=lambda v: (v.genomic_seq_id, v.genomic_start_pos, v.is_insertion)):
        seq = variant.genomic_seq_id
        other = None
        if variant.is_insertion:
            other = inserted_at.get((seq, variant.genomic_start_pos))
            inserted_at.setdefault((seq, variant.genomic_start_pos), variant)
        span = reach.get(seq)
        if other is None and span is not None and span.overlaps(variant):
            other = span
        if other is not None:
            first, second = sorted((other, variant), key=lambda v: order[id(v)])
            if first.variant_id == second.variant_id:
                raise VariantError(f"variant {first.variant_id} is given twice (at two places, or twice in one list)")
            raise VariantError(f"variants {first.variant_id} and {second.variant_id} overlap")
        if not variant.is_insertion and (span is None or variant.genomic_end_pos > span.genomic_end_pos):
            reach[seq] = variant


def _touches(edit: Edit, first: int, after: int) -> bool:
    """Whether an edit changes bases ``[first, after)`` (an insertion: strictly inside them)."""
    if edit.first == edit.after:
        return first < edit.first < after
    return edit.first < after and first < edit.after


def _named(edits: list[Edit]) -> str:
    ids = [e.variant.variant_id for e in edits]
    return f"variant {ids[0]} changes" if len(ids) == 1 else f"variants {', '.join(ids)} change"


def _stop_lost(edits: list[Edit], start: int, end: int, read: int) -> str:
    """The message of a stop codon lost with no new stop: which variants, and how."""
    causes = [f"{_named([e])} the stop codon" for e in edits if _touches(e, end - 3, end)]
    causes += [
        f"{_named([e])} the reading frame ({e.shift:+d} bases)"
        for e in edits
        if start <= e.first < end - 3 and e.shift % 3
    ]
    return (
        f"stop codon lost ({'; '.join(causes) or _named(edits) + ' the coding sequence'}) and no new "
        f"in-frame stop codon before the transcript ends ({read} bases read from the start codon): "
        "the alternative protein is not made"
    )


def _stop_lost_terms(edits: list[Edit], frame: CodingFrame) -> list[str]:
    """VEP's terms of an allele whose stop is lost with no new stop: ``stop_lost`` when an edit
    changes the stop codon, ``frameshift_variant`` when one shifts the frame before it."""
    terms = ["stop_lost"] if any(_touches(e, frame.end - 3, frame.end) for e in edits) else []
    if any(frame.start <= e.first < frame.end - 3 and e.shift % 3 for e in edits):
        terms.append("frameshift_variant")
    return terms or ["stop_lost"]


@dataclass(frozen=True)
class AltProtein:
    """The alternative protein, where each embedded variant lies in it and what it does to the
    protein, one HGVS p. description of the whole change (``hgvs_p``), and the variants it does
    not carry with their terms and why (``not_in_protein``: :mod:`pavi.domain.outside_protein`)."""

    protein: str
    embedded_variants: list[dict[str, Any]]
    hgvs_p: str = "p.="
    not_in_protein: list[dict[str, Any]] = field(default_factory=list)


def _codon(position: int, start: int) -> int:
    """1-based codon (residue) number of transcript index ``position`` read from ``start``."""
    return (position - start) // 3 + 1


def alternative_protein(
    transcript: Transcript, frame: CodingFrame, variants: list[Variant], fetch: FetchBases
) -> AltProtein:
    """Embed the variants and translate from the reference start codon (SPEC section 3).

    ``fetch`` reads the genome, to check every variant's reference allele. Raises
    :class:`VariantError`, naming the variant and the reason, for overlapping variants, a
    reference mismatch, a changed splice site, a lost start codon, or a lost stop codon with
    no new stop in the transcript's 3' part.
    """
    check_no_overlaps(variants)
    for variant in variants:
        check_reference(variant, fetch)
    placed = [(v, variant_edit(v, transcript)) for v in variants]
    edits = sorted((e for _, e in placed if e is not None), key=lambda e: (e.first, e.after))
    not_in_protein = [outside_exons(v, transcript) for v, e in placed if e is None]
    if edits and not frame.contiguous:
        raise VariantError("the CDS regions are not contiguous in the transcript; variants cannot be embedded")

    def shift_before(position: int) -> int:
        """Bases gained (or lost) in front of reference index ``position`` by edits wholly before it."""
        return sum(e.shift for e in edits if e.after <= position)

    pieces: list[str] = []
    alt_spans: list[tuple[Edit, int, int]] = []
    cursor = alt_length = 0
    for edit in edits:
        pieces.append(transcript.seq[cursor : edit.first])
        alt_length += edit.first - cursor
        pieces.append(edit.bases)
        alt_spans.append((edit, alt_length, alt_length + len(edit.bases)))
        alt_length += len(edit.bases)
        cursor = edit.after
    pieces.append(transcript.seq[cursor:])
    alt_seq = "".join(pieces)

    ref_start = frame.start
    alt_start = ref_start + shift_before(ref_start)
    ref_codon, alt_codon = transcript.seq[ref_start : ref_start + 3], alt_seq[alt_start : alt_start + 3]
    if alt_codon != ref_codon:
        culprits = [e for e in edits if _touches(e, ref_start, ref_start + 3)]
        raise VariantError(
            f"{_named(culprits or edits)} the first codon of the CDS ({ref_codon} becomes {alt_codon or 'nothing'}): "
            "start codon lost; the alternative protein is not made (no other start is searched)",
            consequence=["start_lost"],
            hgvs_p="p.Met1?",
        )
    if first_stop(transcript.seq, ref_start, frame.end) is not None:
        # the reference protein ends at a stop: the alternative one ends at its first in-frame
        # stop, inside the coding region or, when the reference stop was lost, in the 3' exons
        stop = first_stop(alt_seq, alt_start)
        if stop is None:
            raise VariantError(
                _stop_lost(edits, ref_start, frame.end, len(alt_seq) - alt_start),
                consequence=_stop_lost_terms(edits, frame),
            )
        alt_coding = alt_seq[alt_start:stop]
    else:
        # a 3'-partial CDS (no stop in the reference): read to the coding region's mapped end
        alt_coding = alt_seq[alt_start : frame.end + shift_before(frame.end)]
    protein = translate(alt_coding)
    if not protein:
        raise VariantError("the alternative coding sequence starts with a stop codon (empty protein)")

    reference = reference_with_stop(transcript, frame, translate(frame.coding_sequence(transcript)))
    changes: list[ProteinChange] = []
    reported = []
    limit = len(protein) + 1  # one past the last residue: the stop codon's position
    # where the alternative's reading ends, in reference indices: past the CDS when the stop was lost
    reads_to = alt_start + len(alt_coding) + 3 - shift_before(frame.end)
    for edit, alt_first, alt_after in alt_spans:
        if not edit.bases and (edit.after <= ref_start or edit.first >= max(frame.end, reads_to)):
            # a deletion in a UTR, next to the start or the stop codon: not in the protein
            utr = "5_prime_UTR_variant" if edit.after <= ref_start else "3_prime_UTR_variant"
            not_in_protein.append(in_untranslated_region(edit.variant, [utr]))
            continue
        if alt_after > alt_first:
            # a delins shorter than its reference covers the reference's length (the previous PAVI's rule)
            span = max(alt_after - alt_first, edit.after - edit.first)
            seq_start, seq_end = _codon(alt_first, alt_start), _codon(alt_first + span - 1, alt_start)
        else:  # a deletion: the residue holding the base after the gap; a deletion of whole
            # codons, on codon boundaries, also the residue before it
            seq_end = _codon(alt_first, alt_start)
            whole_codons = (edit.after - edit.first) % 3 == 0 and (edit.first - ref_start) % 3 == 0
            seq_start = seq_end - 1 if whole_codons else seq_end
        if seq_end < 1 or seq_start > limit:  # in a UTR, or after the protein's end: not in the protein
            terms = edit_change(transcript, frame, reference, edit.first, edit.after, edit.bases).consequence
            not_in_protein.append(in_untranslated_region(edit.variant, terms))
            continue
        seq_start, seq_end = max(seq_start, 1), min(seq_end, limit)
        # The previous PAVI's lengths: the allele's bases in the coding region, divided by 3 and
        # rounded up (not the codons touched: a 2-base change across a codon boundary is 1). A
        # variant reaching from the CDS into a UTR counts its CDS bases only; one wholly in the
        # 3' part read after a lost stop counts all of its bases.
        coding_end = frame.end if edit.first < frame.end else edit.after
        cds_bases = max(0, min(edit.after, coding_end) - max(edit.first, ref_start))
        change = edit_change(transcript, frame, reference, edit.first, edit.after, edit.bases)
        changes.append(change)
        reported.append(
            {
                **edit.variant.to_dict(),
                "seq_start_pos": seq_start,
                "seq_end_pos": seq_end,
                "embedded_ref_seq_len": -(-cds_bases // 3),
                "embedded_alt_seq_len": -(-len(edit.bases) // 3),
                "consequence": change.consequence,
                "hgvs_p": change.hgvs_p,
            }
        )
    after_protein = alt_start + 3 * len(protein)
    alt_has_stop = alt_seq[after_protein : after_protein + 3] in STOP_CODONS
    net_shift = sum(e.shift for e in edits if ref_start <= e.first < reads_to)
    allele = allele_change(reference, protein, alt_has_stop, changes, net_shift % 3 != 0)
    return AltProtein(protein, reported, allele, not_in_protein)
