"""Issue 28, item 2: a generated corpus of variants on the conformance transcripts (both strands,
every kind the issue names), each variant's SO terms and HGVS p. checked against an oracle that
shares none of the code's paths.

The oracle reads the genome with pysam (not the pipeline's reader), joins the CDS regions itself,
edits the coding DNA as a plain string, translates the whole reference and alternative transcript
with Biopython, and applies Ensembl VEP's predicates (``VariationEffect.pm``: ``stop_gained``,
``stop_lost``, ``stop_retained``, ``frameshift``, ``inframe_insertion``, ``inframe_deletion``,
``missense_variant``, ``protein_altering_variant``, ``synonymous_variant``) to the codons the
variant touches, computed from coding coordinates. HGVS p. is derived from the two whole
proteins for every kind whose rule needs no 3' shift (substitutions, nonsense, frameshifts,
extensions, in-frame changes ending in a stop); the others are parsed by biocommons ``hgvs``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hgvs.parser
import pysam
import pytest
from Bio.Seq import Seq
from Bio.SeqUtils import seq3

from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "genbank"
STOPS = {"TAA", "TAG", "TGA"}
SENSE = sorted(c for c in (a + b + d for a in "ACGT" for b in "ACGT" for d in "ACGT") if c not in STOPS)
PARSER = hgvs.parser.Parser()


@dataclass
class Transcript:
    entry: dict[str, Any]
    coding: str  # the CDS, start codon to stop codon included
    after: str  # the exonic bases after the CDS (its 3' UTR), for reading on past a lost stop
    positions: list[int]  # genome position (1-based) of each coding base


def _regions(raw: list[Any]) -> list[tuple[int, int]]:
    spans = []
    for region in raw:
        a, b = map(int, region.split("..")) if isinstance(region, str) else (region["start"], region["end"])
        spans.append((min(a, b), max(a, b)))
    return spans


def transcript_of(raw: dict[str, Any], fasta: Any) -> Transcript | None:
    """An entry's transcript read with pysam, when its CDS starts with ATG at phase 0 and ends
    with its only in-frame stop codon (None otherwise)."""
    entry = dict(raw, fasta_file_url=str(CONFORMANCE / "genome.fa.gz"))
    minus = entry["seq_strand"] in {"-", "-1", "neg"}
    cds, exons = _regions(entry["cds_seq_regions"]), _regions(entry["exon_seq_regions"])
    order = sorted(cds, reverse=minus)
    positions = [p for a, b in order for p in (range(b, a - 1, -1) if minus else range(a, b + 1))]
    exonic = [p for a, b in sorted(exons, reverse=minus) for p in (range(b, a - 1, -1) if minus else range(a, b + 1))]
    downstream = exonic[exonic.index(positions[-1]) + 1 :]

    def bases(ps: list[int]) -> str:
        text = "".join(fasta.fetch(entry["seq_id"], p - 1, p).upper() for p in ps)
        return str(Seq(text).complement()) if minus else text

    coding = bases(positions)
    if entry["cds_seq_regions"][0].get("frame", 0) != 0 or coding[:3] != "ATG" or coding[-3:] not in STOPS:
        return None
    if len(coding) % 3 or any(coding[i : i + 3] in STOPS for i in range(0, len(coding) - 3, 3)):
        return None
    return Transcript(entry, coding, bases(downstream), positions)


def transcripts() -> list[Transcript]:
    """Conformance transcripts whose CDS starts with ATG at phase 0 and ends with a stop codon."""
    payload = json.loads((CONFORMANCE / "payload.json").read_text())
    fasta = pysam.FastaFile(str(CONFORMANCE / "genome.fa.gz"))
    return [t for t in (transcript_of(raw, fasta) for raw in payload) if t is not None]


def translate_to_stop(dna: str) -> tuple[str, bool]:
    protein = str(Seq(dna[: len(dna) // 3 * 3]).translate())
    return (protein.split("*")[0], "*" in protein)


# -- the oracle: VEP's predicates on the touched codons, read from coding coordinates


def touched(coding: str, index: int, ref: str, alt: str) -> tuple[str, str]:
    """VEP's codon alleles: the reference codons the variant touches (none for an insertion between
    two codons) and the same bases edited."""
    if not ref and index % 3 == 0:
        first = after = index
    else:
        first = index // 3 * 3
        after = -(-(index + max(len(ref), 1)) // 3) * 3
    edited = coding[:index] + alt + coding[index + len(ref) :]
    return coding[first:after], edited[first : after + len(alt) - len(ref)]


def peptide(codons: str) -> str:
    return "".join(str(Seq(codons[i : i + 3]).translate()) for i in range(0, len(codons) - 2, 3))


def vep_terms(ref_codons: str, alt_codons: str, protein_same_with_stop: bool) -> set[str]:
    ref_pep, alt_pep = peptide(ref_codons), peptide(alt_codons)
    frameshift = abs(len(alt_codons) - len(ref_codons)) % 3 != 0
    retained = ("*" in ref_pep and ref_pep.find("*") == alt_pep.find("*")) or (
        protein_same_with_stop and alt_pep.startswith("*")
    )
    terms = set()
    if not retained and "*" in alt_pep and "*" not in ref_pep:
        terms.add("stop_gained")
    if not retained and "*" in ref_pep and "*" not in alt_pep:
        terms.add("stop_lost")
    if frameshift and not retained:
        terms.add("frameshift_variant")
    if not frameshift:
        cut = alt_pep.split("*")[0] + "*" if "*" in alt_pep else alt_pep
        if len(alt_codons) > len(ref_codons) and (cut.startswith(ref_pep) or cut.endswith(ref_pep)):
            terms.add("inframe_insertion")
        deletion = False
        if len(alt_codons) < len(ref_codons):
            r, a = ref_codons, alt_codons
            while r and a and r[0] == a[0]:
                r, a = r[1:], a[1:]
            while r and a and r[-1] == a[-1]:
                r, a = r[:-1], a[:-1]
            starts_or_ends = ref_codons.startswith(alt_codons) or ref_codons.endswith(alt_codons)
            deletion = starts_or_ends or (not a and len(r) % 3 == 0)
        if deletion:
            terms.add("inframe_deletion")
        stop_term = terms & {"stop_gained", "stop_lost"} or retained
        if not stop_term and not terms and len(ref_pep) == len(alt_pep) and ref_pep != alt_pep:
            terms.add("missense_variant")
        pav = len(alt_pep) != len(ref_pep) and not ref_pep.startswith("*") and not alt_pep.startswith("*")
        if pav and not (alt_pep.startswith(ref_pep) or alt_pep.endswith(ref_pep)) and not deletion:
            terms.add("protein_altering_variant")
    if retained:
        terms.add("stop_retained_variant")
    return terms or {"synonymous_variant"}


def aa(residue: str) -> str:
    return "Ter" if residue == "*" else str(seq3(residue))  # type: ignore[no-untyped-call]


def expected_hgvs(ref: str, alt: str, frameshift: bool, new_stop: bool, before_stop: bool) -> str | None:
    """HGVS p. from the two whole proteins (each with ``*`` at its stop), where no 3' shift is
    involved; None for the kinds the oracle leaves to the parser. ``before_stop``: residues
    inserted between the last codon and the untouched stop codon, which VEP writes as an
    insertion between its flanks (``p.Tyr584_Ter585insAla``), not as an extension."""
    i = next((k for k, (x, y) in enumerate(zip(ref, alt, strict=False)) if x != y), None)
    if i is None:
        return None
    if before_stop and not frameshift and "*" not in alt[i:-1]:
        n = len(ref) - 1  # the last residue's number
        return f"p.{aa(ref[n - 1])}{n}_Ter{n + 1}ins{''.join(aa(r) for r in alt[n:-1])}"
    if ref[i] == "*":
        stop = alt.find("*", i)
        return f"p.Ter{i + 1}{aa(alt[i])}extTer{stop - i if stop >= 0 else '?'}"
    if alt[i] == "*" and not (frameshift or new_stop):
        return None  # the former stop reached sooner (residues deleted before it): a deletion, 3'-shifted
    if alt[i] == "*":
        return f"p.{aa(ref[i])}{i + 1}Ter"
    if frameshift:
        stop = alt.find("*", i)
        return f"p.{aa(ref[i])}{i + 1}{aa(alt[i])}fsTer{stop - i + 1 if stop >= 0 else '?'}"
    if new_stop:
        inserted = alt[i : alt.index("*") + 1]
        last = i + len(inserted) - 1
        span = f"{aa(ref[i])}{i + 1}" + (f"_{aa(ref[last])}{last + 1}" if last > i else "")
        return f"p.{span}delins{''.join(aa(r) for r in inserted)}"
    if len(ref) == len(alt) and ref[i + 1 :] == alt[i + 1 :]:
        return f"p.{aa(ref[i])}{i + 1}{aa(alt[i])}"
    return None


# -- the corpus


@dataclass
class Case:
    kind: str
    transcript: Transcript
    index: int  # coding index of the first reference base (an insertion: of the base after it)
    ref: str
    alt: str


def corpus(seed: int = 28) -> list[Case]:
    """Every kind of the issue on every transcript that has room for it: 9 a transcript."""
    rng = random.Random(seed)
    cases = []
    for t in transcripts():
        codons = len(t.coding) // 3  # the last is the stop
        c = t.coding
        k = rng.randrange(2, codons - 3)
        cases.append(Case("substitution", t, 3 * k + rng.randrange(3), "", ""))
        cases.append(
            Case("in-frame change ending in a stop", t, 3 * k, c[3 * k : 3 * k + 6], rng.choice(SENSE) + "TAG")
        )
        cases.append(Case("insertion ending in a stop", t, 3 * k + 3, "", rng.choice(SENSE) + "TGA"))
        cases.append(Case("insertion before the stop", t, len(c) - 3, "", rng.choice(SENSE)))
        cases.append(Case("frameshift in the last codons", t, len(c) - 3 - rng.randrange(1, 7), "", "A"))
        cases.append(Case("in-frame deletion", t, 3 * k, c[3 * k : 3 * k + 3], ""))
        cases.append(Case("dup at a repeat", t, 3 * k + 3, "", c[3 * k : 3 * k + 3]))
        cases.append(Case("delins", t, 3 * k, c[3 * k : 3 * k + 3], rng.choice(SENSE) + rng.choice(SENSE)))
        cases.append(Case("stop codon changed", t, len(c) - 3 + rng.randrange(3), "", ""))
    for case in cases:  # single-base substitutions: a random other base
        if not case.ref and not case.alt:
            case.ref = case.transcript.coding[case.index]
            case.alt = rng.choice([b for b in "ACGT" if b != case.ref])
    return [case for case in cases if _contiguous(case)]


def _contiguous(case: Case) -> bool:
    """The variant's bases lie in one CDS region (an insertion: its two flanks), as an inline
    variant must give them."""
    p = case.transcript.positions
    span = range(case.index - 1, case.index + 1) if not case.ref else range(case.index, case.index + len(case.ref))
    if span.start < 0 or span.stop > len(p):
        return False
    return all(abs(p[a + 1] - p[a]) == 1 for a in range(span.start, span.stop - 1))


def as_variant(case: Case) -> dict[str, Any]:
    t, minus = case.transcript, case.transcript.entry["seq_strand"] in {"-", "-1", "neg"}
    orient = (lambda s: str(Seq(s).reverse_complement())) if minus else (lambda s: s)
    if case.ref:
        ends = [t.positions[case.index], t.positions[case.index + len(case.ref) - 1]]
    else:
        ends = [t.positions[case.index - 1], t.positions[case.index]]
    return {
        "variant_id": f"{case.kind.replace(' ', '_')}_{case.index}",
        "seq_id": t.entry["seq_id"],
        "start": min(ends),
        "end": max(ends),
        "ref": orient(case.ref),
        "alt": orient(case.alt),
    }


def oracle(case: Case) -> tuple[set[str], str | None, str | None]:
    """(SO terms, HGVS p. or None, the alternative protein or None when none is made)."""
    c = case.transcript.coding
    if c[case.index : case.index + len(case.ref)] != case.ref:  # not the genome's bases: refused
        return set(), None, None
    edited = c[: case.index] + case.alt + c[case.index + len(case.ref) :]
    ref_protein, _ = translate_to_stop(c)
    alt_protein, alt_stops = translate_to_stop(edited + case.transcript.after)
    ref_codons, alt_codons = touched(c, case.index, case.ref, case.alt)
    same = alt_protein == ref_protein and alt_stops
    terms = vep_terms(ref_codons, alt_codons, same)
    frameshift = (len(case.alt) - len(case.ref)) % 3 != 0
    new_stop = not frameshift and "*" in peptide(alt_codons) and "*" not in peptide(ref_codons)
    made = alt_protein if alt_stops and alt_protein.startswith("M") else None
    before_stop = not case.ref and case.index == len(c) - 3
    description = (
        expected_hgvs(ref_protein + "*", alt_protein + "*", frameshift, new_stop, before_stop) if made else None
    )
    return terms, description, made


CASES = corpus()


def test_the_corpus_is_large_and_covers_every_kind_on_both_strands() -> None:
    kinds = Counter((case.kind, case.transcript.entry["seq_strand"]) for case in CASES)
    assert len(CASES) >= 300
    assert {kind for kind, _ in kinds} == {c.kind for c in CASES} and len({k for k, _ in kinds}) == 9
    assert {strand for _, strand in kinds} == {"+", "-"}


def test_every_variant_of_the_corpus_agrees_with_the_oracle() -> None:
    """All N of N agree: terms always; HGVS p. where the oracle derives it, else it parses."""
    disagreements = []
    compared = Counter()
    for case in CASES:
        entry = dict(case.transcript.entry, variants=[as_variant(case)], variant_ids=[])
        entry["unique_entry_id"] = "corpus"
        result = retrieve_entry(parse_job([entry]).seq_regions[0])
        info = result.sequences[1].info if len(result.sequences) > 1 else {}
        terms, description, made = oracle(case)
        if made is None:  # no alternative protein: the entry's alternative says why
            compared["no protein"] += 1
            if "error" not in info:
                disagreements.append((case.kind, case.index, "a protein was made", result.sequences[1].protein))
            continue
        if "error" in info:
            disagreements.append((case.kind, case.index, "error", info["error"]))
            continue
        (embedded,) = info["embedded_variants"]
        if result.sequences[1].protein != made:
            disagreements.append((case.kind, case.index, "protein", result.sequences[1].protein, made))
        if set(embedded["consequence"]) != terms:
            disagreements.append((case.kind, case.index, "terms", embedded["consequence"], sorted(terms)))
        if description is not None:
            compared["hgvs by the oracle"] += 1
            if embedded["hgvs_p"] != description:
                disagreements.append((case.kind, case.index, "hgvs", embedded["hgvs_p"], description))
        else:
            compared["hgvs parsed"] += 1
            PARSER.parse_p_posedit(embedded["hgvs_p"].removeprefix("p."))
        compared["terms"] += 1
    assert not disagreements, f"{len(disagreements)} of {len(CASES)} disagree: {disagreements[:10]}"
    assert compared["terms"] + compared["no protein"] == len(CASES)
    assert compared["hgvs by the oracle"] >= 150, compared


@pytest.mark.parametrize("kind", sorted({case.kind for case in CASES}))
def test_each_kind_reaches_its_terms(kind: str) -> None:
    """The corpus's kinds are what they say: the oracle's own terms for each."""
    seen = Counter(term for case in CASES if case.kind == kind for term in oracle(case)[0])
    wanted = {
        "in-frame change ending in a stop": "stop_gained",
        "insertion ending in a stop": "stop_gained",
        "insertion before the stop": "inframe_insertion",
        "frameshift in the last codons": "frameshift_variant",
        "in-frame deletion": "inframe_deletion",
        "dup at a repeat": "inframe_insertion",
        "delins": "protein_altering_variant",
    }
    if kind in wanted:
        assert seen[wanted[kind]] > 0, seen


def test_the_49_conformance_cases_agree_with_the_oracle_by_value() -> None:
    """Issue 28, item 2: the conformance variant cases' terms and descriptions compared by value
    with the oracle's (not only parsed): every single-variant case whose variant lies in its CDS."""
    payload = json.loads((CONFORMANCE.parent / "variants" / "variants_payload.json").read_text())
    fasta = pysam.FastaFile(str(CONFORMANCE / "genome.fa.gz"))
    compared, disagreements = 0, []
    for raw in payload:
        transcript = transcript_of(raw, fasta)
        if transcript is None or len(raw["variants"]) != 1:
            continue
        (variant,) = raw["variants"]
        minus = raw["seq_strand"] in {"-", "-1", "neg"}
        where = {position: index for index, position in enumerate(transcript.positions)}
        ref, alt = variant["ref"], variant["alt"]
        if minus:
            ref, alt = str(Seq(ref).reverse_complement()), str(Seq(alt).reverse_complement())
        if ref:
            index = where.get(variant["end"] if minus else variant["start"])
            last = where.get(variant["start"] if minus else variant["end"])
            if index is None or last is None or last - index != len(ref) - 1:
                continue  # not wholly in the CDS: reported elsewhere (UTR, intron, splice site)
        else:
            index = where.get(variant["start"] if minus else variant["end"])
            if index is None or where.get(variant["end"] if minus else variant["start"]) != index - 1:
                continue
        case = Case("conformance", transcript, index, ref, alt)
        terms, description, made = oracle(case)
        entry = dict(transcript.entry, unique_entry_id="case")
        result = retrieve_entry(parse_job([entry]).seq_regions[0])
        info = result.sequences[1].info
        compared += 1
        if made is None:
            if "error" not in info:
                disagreements.append((raw["unique_entry_id"], "a protein was made"))
            continue
        if "error" in info:
            disagreements.append((raw["unique_entry_id"], info["error"], sorted(terms)))
            continue
        (embedded,) = info["embedded_variants"]
        if set(embedded["consequence"]) != terms:
            disagreements.append((raw["unique_entry_id"], embedded["consequence"], sorted(terms)))
        if description is not None and embedded["hgvs_p"] != description:
            disagreements.append((raw["unique_entry_id"], embedded["hgvs_p"], description))
    assert not disagreements, disagreements
    print(f"conformance cases compared by value: {compared}")
    assert compared >= 25, compared
