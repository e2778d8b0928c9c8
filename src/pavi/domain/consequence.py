"""What a variant does to the protein: its Sequence Ontology consequence and its HGVS protein
description (issue 21, item 1), as Ensembl VEP writes HGVSp without the accession:
three-letter amino acids, ``Ter`` for the stop (``p.Arg133Cys``, ``p.Trp24Ter``, ``p.Ala50=``,
``p.Lys5del``, ``p.Lys5_Gly7dup``, ``p.Gly4_Gln5insArg``, ``p.Cys28delinsTrpVal``,
``p.Leu100ProfsTer12``, ``p.Ter110GlnextTer17``).

Rules (the HGVS recommendations, as biocommons ``hgvs`` builds them):

- the description compares the reference protein with the protein the edited transcript
  makes, read from the reference start codon to its first in-frame stop;
- a deletion or a duplication is shifted to its most C-terminal place (the 3' rule), and an
  insertion of residues equal to those before it is a ``dup``;
- ``fsTerN``: N counts from the first changed residue (1) to the new stop; ``extTerN``: N is
  the new stop's distance from the former one; ``?`` where no stop is reached;
- the first changed residue becoming a stop is a nonsense change (``p.Trp24Ter``), even in a
  frameshift.

Each variant is described on its own (the reference with only that variant), and the
alternative protein as a whole (every variant of the allele: what the cell would make).
Work per variant is local: an in-frame change translates only the codons it touches, and a
frameshift or a changed stop codon reads on only to the next stop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from Bio.Data.CodonTable import standard_dna_table
from Bio.SeqUtils import seq3

from pavi.domain.transcripts import CodingFrame, Transcript, first_stop

_TABLE: Any = standard_dna_table  # the standard genetic code (NCBI table 1)
_CODONS: dict[str, str] = {**_TABLE.forward_table, **dict.fromkeys(_TABLE.stop_codons, "*")}


def translate_all(coding: str) -> str:
    """Every whole codon's amino acid, stops kept as ``*``; ``X`` for a codon with another base."""
    return "".join(_CODONS.get(coding[i : i + 3], "X") for i in range(0, len(coding) - 2, 3))


def aa3(residue: str) -> str:
    """The three-letter code (``Ter`` for the stop)."""
    return "Ter" if residue == "*" else str(seq3(residue))  # type: ignore[no-untyped-call]


def aa3s(residues: str) -> str:
    return "".join(aa3(r) for r in residues)


@dataclass(frozen=True)
class ProteinChange:
    """A change's SO consequence terms, its HGVS p. description (None where it has none: a
    UTR variant), and the reference residues it starts at (0-based, for ordering)."""

    consequence: list[str]
    hgvs_p: str | None
    first_residue: int = -1
    truncates: bool = False  # a frameshift, a new stop or a lost one: what follows is not read as before
    delta: int = 0  # residues an in-frame change adds (negative: removes)
    codons: tuple[int, int] = (-1, -1)  # the reference codons its edit touches, [first, after)
    new_stop: bool = False  # its own new codons end the protein (describe's ``new_stop``)


def describe(
    ref: str,
    alt: str,
    start: int,
    frameshift: bool,
    equal_after: tuple[int, int] | None = None,
    *,
    alt_start: int = -1,
    new_stop: bool = False,
) -> ProteinChange:
    """Describe the change from ``ref`` to ``alt`` (each with its stop ``*`` when it has one),
    whose first difference is at or after residue ``start`` of ``ref`` (``alt_start`` of
    ``alt``; the same by default). ``equal_after = (r, a)`` says ``ref[r:] == alt[a:]`` (an
    in-frame change that ends before the stop): the search stays inside the change.
    ``new_stop``: ``alt``'s stop is one the change's own codons make (an in-frame change), not
    the reference's: it is part of what is inserted (``p.Lys8_Gln9delinsAsnTer``)."""
    i, j = start, (start if alt_start < 0 else alt_start)
    limit_r, limit_a = equal_after or (len(ref), len(alt))
    while i < limit_r and j < limit_a and ref[i] == alt[j]:
        i += 1
        j += 1
    if equal_after and i == limit_r and j == limit_a:
        return _unchanged(ref, start)
    if i >= len(ref) and j < len(alt):  # past a 3'-partial CDS's known residues: no reference to name
        return ProteinChange(["frameshift_variant" if frameshift else "coding_sequence_variant"], "p.?", i, True)
    if not equal_after and i == len(ref) and j == len(alt):
        if frameshift:  # a 3'-partial CDS shifted past its known end: what it makes is not known
            return ProteinChange(["frameshift_variant"], "p.?", max(start, 0), truncates=True)
        return _unchanged(ref, start)
    if i == 0 and (j >= len(alt) or alt[j] != ref[0]):
        return ProteinChange(["start_lost"], "p.Met1?", 0, truncates=True)
    if i < limit_r and ref[i] == "*":  # the stop codon now codes: the protein reads on
        stop_at = alt.find("*", j)
        length = str(stop_at - j) if stop_at >= 0 else "?"
        terms = ["stop_lost", *(["frameshift_variant"] if frameshift else [])]
        return ProteinChange(terms, f"p.Ter{i + 1}{aa3(alt[j])}extTer{length}", i, truncates=True)
    if j < limit_a and alt[j] == "*":
        terms = ["stop_gained", *(["frameshift_variant"] if frameshift else [])]
        return ProteinChange(terms, f"p.{aa3(ref[i])}{i + 1}Ter", i, truncates=True)
    if frameshift:
        if j >= len(alt):  # a 3'-partial CDS: the shifted frame ends with its known bases
            return ProteinChange(["frameshift_variant"], f"p.{aa3(ref[i])}{i + 1}fs", i, True)
        stop_at = alt.find("*", j)
        length = str(stop_at - j + 1) if stop_at >= 0 else "?"
        return ProteinChange(["frameshift_variant"], f"p.{aa3(ref[i])}{i + 1}{aa3(alt[j])}fsTer{length}", i, True)
    stop = alt.find("*", j, limit_a)
    if new_stop and stop >= 0:
        # new residues ending in a stop (a delins, an MNV, an insertion): the protein ends there, and
        # the stop is part of what is inserted (HGVS: p.Pro578_Lys579delinsLeuTer)
        inserted = alt[j : stop + 1]
        deleted_end = min(i + len(inserted), len(ref) - (1 if ref.endswith("*") else 0))
        description = f"p.{_span(ref, i, deleted_end)}delins{aa3s(inserted)}"
        return ProteinChange(["stop_gained"], description, i, truncates=True, new_stop=True)
    end_r, end_a = limit_r, limit_a
    while end_r > i and end_a > j and ref[end_r - 1] == alt[end_a - 1]:
        end_r -= 1
        end_a -= 1
    return _in_frame(ref, i, ref[i:end_r], alt[j:end_a])


def _unchanged(ref: str, at: int) -> ProteinChange:
    residue = ref[at] if at < len(ref) else "*"
    term = "stop_retained_variant" if residue == "*" else "start_retained_variant" if at == 0 else "synonymous_variant"
    return ProteinChange([term], f"p.{aa3(residue)}{at + 1}=", at)


def _span(ref: str, first: int, after: int) -> str:
    """``Lys5`` or ``Lys5_Gly7``: the reference residues ``first .. after - 1``."""
    if after - first <= 1:
        return f"{aa3(ref[first])}{first + 1}"
    return f"{aa3(ref[first])}{first + 1}_{aa3(ref[after - 1])}{after}"


def _in_frame(ref: str, i: int, deleted: str, inserted: str) -> ProteinChange:
    delta = len(inserted) - len(deleted)
    if len(deleted) == 1 and len(inserted) == 1:
        return ProteinChange(["missense_variant"], f"p.{aa3(deleted)}{i + 1}{aa3(inserted)}", i)
    if not inserted:  # a deletion, shifted to its most C-terminal place
        after = i + len(deleted)
        while after < len(ref) and ref[after] == ref[i] and ref[after] != "*":
            i, after = i + 1, after + 1
        return ProteinChange(["inframe_deletion"], f"p.{_span(ref, i, after)}del", i)
    if not deleted:  # an insertion between residues i - 1 and i, shifted as far as it goes
        while i < len(ref) and ref[i] == inserted[0] and ref[i] != "*":
            inserted, i = inserted[1:] + inserted[0], i + 1
        if i >= len(inserted) and ref[i - len(inserted) : i] == inserted:
            return ProteinChange(["inframe_insertion"], f"p.{_span(ref, i - len(inserted), i)}dup", i)
        return ProteinChange(["inframe_insertion"], f"p.{_span(ref, i - 1, i + 1)}ins{aa3s(inserted)}", i)
    term = "inframe_deletion" if delta < 0 else "inframe_insertion" if delta > 0 else "missense_variant"
    return ProteinChange([term], f"p.{_span(ref, i, i + len(deleted))}delins{aa3s(inserted)}", i)


def reference_with_stop(transcript: Transcript, frame: CodingFrame, protein: str) -> str:
    """The reference protein with ``*`` when its CDS ends with a stop codon."""
    return protein + "*" if first_stop(transcript.seq, frame.start, frame.end) is not None else protein


def edit_change(
    transcript: Transcript, frame: CodingFrame, ref: str, first: int, after: int, bases: str
) -> ProteinChange:
    """What one edit of the transcript (replace ``[first, after)`` with ``bases``, transcript
    indices) does to the protein on its own. ``ref`` is :func:`reference_with_stop`'s protein."""
    start, end = frame.start, frame.end
    if after <= start or first >= end:  # an insertion at the start codon's 5' side is in the UTR
        return ProteinChange(["5_prime_UTR_variant" if after <= start else "3_prime_UTR_variant"], None)
    has_stop = ref.endswith("*")
    shift = len(bases) - (after - first)
    frameshift = shift % 3 != 0
    seq = transcript.seq
    if first < start:  # from the 5' UTR into the start codon
        edited = seq[:first] + bases + seq[after:]
        return _read_on(ref, edited[start:], 0, frameshift, has_stop, end - start + shift)
    codon0 = start + 3 * ((first - start) // 3)
    k0 = (codon0 - start) // 3
    tail = seq[codon0:first] + bases + seq[after:]
    # the codons the edit touches: none for an insertion between two codons (VEP's codon alleles)
    between = first == after and first == codon0
    codon1 = codon0 if between else start + 3 * -(-(max(after, first + 1) - start) // 3)
    k1 = (codon1 - start) // 3
    known = min(codon1, end)  # a 3'-partial CDS: no codon past its mapped end
    codons = (seq[codon0:known], tail[: known - codon0 + shift])
    if not frameshift and codon1 <= (end - 3 if has_stop else end):
        window = translate_all(tail[: codon1 - codon0 + shift])
        if "*" not in window:
            change = describe(ref, ref[:k0] + window + ref[k1:], k0, False, (k1, k0 + len(window)))
        else:
            change = describe(ref, ref[:k0] + window[: window.index("*") + 1], k0, False, new_stop=True)
        return replace(change, consequence=vep_terms(*codons, False, change), delta=shift // 3, codons=(k0, k1))
    change = _read_on(ref, tail, k0, frameshift, has_stop, end - codon0 + shift)
    return replace(change, consequence=vep_terms(*codons, frameshift, change), codons=(k0, k1))


def vep_terms(ref_codons: str, alt_codons: str, frameshift: bool, told: ProteinChange) -> list[str]:
    """The SO terms of one edit by Ensembl VEP's predicates (``VariationEffect.pm``), from the
    codons it touches (``ref_codons``, and ``alt_codons`` as edited; none for an insertion between
    two codons) and their peptides; ``told``: the protein-level description, which decides the
    start codon's terms and a stop kept where it was (VEP's ``ref_eq_alt_sequence``). In VEP's
    order of severity. ``stop_lost`` needs the stop codon's own bases changed; ``stop_gained``
    needs a stop in the new peptide; an in-frame change that is neither a clean insertion nor a
    clean deletion is a ``protein_altering_variant``."""
    if told.consequence and told.consequence[0] in {"start_lost", "start_retained_variant"}:
        return told.consequence
    ref_pep, alt_pep = translate_all(ref_codons), translate_all(alt_codons)
    retained = told.consequence == ["stop_retained_variant"] or (
        "*" in ref_pep and ref_pep.find("*") == alt_pep.find("*")
    )
    terms = []
    if not retained and "*" in alt_pep and "*" not in ref_pep:
        terms.append("stop_gained")
    if frameshift and not retained:
        terms.append("frameshift_variant")
    if not retained and "*" in ref_pep and "*" not in alt_pep:
        terms.append("stop_lost")
    if not frameshift:
        trimmed = alt_pep[: alt_pep.index("*") + 1] if "*" in alt_pep else alt_pep
        if len(alt_codons) > len(ref_codons) and (trimmed.startswith(ref_pep) or trimmed.endswith(ref_pep)):
            terms.append("inframe_insertion")
        deletion = len(alt_codons) < len(ref_codons) and _clean_deletion(ref_codons, alt_codons)
        if deletion:
            terms.append("inframe_deletion")
        if not terms and len(ref_pep) == len(alt_pep) and ref_pep != alt_pep and not retained:
            terms.append("missense_variant")
        altering = len(alt_pep) != len(ref_pep) and not ref_pep.startswith("*") and not alt_pep.startswith("*")
        if altering and not (alt_pep.startswith(ref_pep) or alt_pep.endswith(ref_pep)) and not deletion:
            terms.append("protein_altering_variant")
    if retained:
        terms.append("stop_retained_variant")
    return terms or ["synonymous_variant"]


def _clean_deletion(ref_codons: str, alt_codons: str) -> bool:
    """VEP's in-frame deletion: what is left of the codons is their start or end, or the
    deleted bases are whole codons between a common beginning and end."""
    if ref_codons.startswith(alt_codons) or ref_codons.endswith(alt_codons):
        return True
    head = 0
    while head < len(alt_codons) and ref_codons[head] == alt_codons[head]:
        head += 1
    tail = 0
    while tail < len(alt_codons) - head and ref_codons[-1 - tail] == alt_codons[-1 - tail]:
        tail += 1
    return head + tail == len(alt_codons) and (len(ref_codons) - len(alt_codons)) % 3 == 0


def _read_on(ref: str, tail: str, k0: int, frameshift: bool, has_stop: bool, coding_length: int) -> ProteinChange:
    """A frameshift, or a changed stop codon: read ``tail`` (from codon ``k0``) to its next stop
    (a 3'-partial CDS: to its mapped end)."""
    readable = tail if has_stop else tail[:coding_length]
    stop = first_stop(readable, 0)
    coding = readable[: stop + 3] if stop is not None else readable[: len(readable) - len(readable) % 3]
    return describe(ref, ref[:k0] + translate_all(coding), k0, frameshift)


def allele_change(ref: str, alt: str, alt_has_stop: bool, changes: list[ProteinChange], frameshift: bool) -> str:
    """One HGVS p. description of the alternative protein as a whole (every variant of the
    allele: what the cell would make). ``changes`` are the variants' own descriptions;
    ``frameshift``: whether the allele's edits shift the reading frame in all.

    No change in the protein: ``p.=``. In-frame changes apart from each other are listed
    (``p.[Arg10Cys;Lys50del]``), those touching one codon described together; once a change
    truncates or extends the protein (or the allele shifts the frame), the in-frame changes
    before it are listed, then the rest is read from the two proteins."""
    alt = alt + ("*" if alt_has_stop else "")
    altering = sorted((c for c in changes if c.hgvs_p and not c.hgvs_p.endswith("=")), key=lambda c: c.codons)
    if ref == alt or not altering:
        return "p.="
    cut = next((c for c in altering if c.truncates), None)
    parts: list[str] = []
    offset = 0
    groups: list[list[ProteinChange]] = []
    for change in altering:
        if cut is not None and change.codons[0] >= cut.codons[0]:
            break
        if groups and change.codons[0] < groups[-1][-1].codons[1]:
            groups[-1].append(change)
        else:
            groups.append([change])
    for group in groups:
        if len(group) == 1:
            parts.append(str(group[0].hgvs_p).removeprefix("p."))
        else:  # changes of one codon: the two proteins' residues there
            r0, r1 = group[0].codons[0], max(c.codons[1] for c in group)
            delta = sum(c.delta for c in group)
            told = describe(ref, alt, r0, False, (r1, r1 + offset + delta), alt_start=r0 + offset)
            parts.append(str(told.hgvs_p).removeprefix("p."))
        offset += sum(c.delta for c in group)
    if cut is not None:
        start = cut.codons[0]
        told = describe(ref, alt, start, frameshift, alt_start=start + offset, new_stop=cut.new_stop)
        parts.append(str(told.hgvs_p).removeprefix("p."))
    return "p." + parts[0] if len(parts) == 1 else "p.[" + ";".join(parts) + "]"
