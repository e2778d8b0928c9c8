"""The request model: one pipeline entry and a job (SPEC section 1).

One model serves the validation Lambda, the API (Powertools' Parser takes pydantic
models) and the CLI. :func:`parse_job` validates every entry and raises one
:class:`~pavi.domain.errors.RequestValidationError` that lists *all* problems, each with the
entry's index, the field and the reason.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pavi.domain.errors import EntryLimitError, JobSizeError, Problem, RequestValidationError
from pavi.domain.limits import (
    CLUSTAL_NAME_CHARS,
    MAX_INLINE_VARIANTS_PER_ENTRY,
    MAX_JOB_RESIDUES,
    MAX_PROTEIN_RESIDUES,
    MAX_VARIANT_IDS_PER_ENTRY,
    MAX_VARIANT_LOOKUPS_PER_JOB,
)
from pavi.domain.regions import CdsRegion, InlineVariant, Region, visible

UNIQUE_ENTRY_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")  # whole value: fullmatch
_STRING_REGION = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
_BASES = re.compile(r"^[ACGTNacgtn]*$")
_PLUS = {"+", "+1", "pos", "1"}
_MINUS = {"-", "-1", "neg"}
URL_SCHEMES = ("https://", "http://", "s3://", "file://")
MAX_DEPTH = 32  # JSON nesting a request may have: entries are 4 levels deep
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi, zero-width), unassigned


Strand = Literal["+", "-"]


class Entry(BaseModel):
    """One transcript to retrieve, with its variants (SPEC section 1)."""

    # a field the request does not define is refused, in every form of the body (issue 27, item 1)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    unique_entry_id: str
    base_seq_name: str = Field(min_length=1)
    seq_id: str = Field(min_length=1)
    seq_strand: Strand = "+"
    exon_seq_regions: list[Region] = Field(min_length=1)
    cds_seq_regions: list[CdsRegion] = Field(default_factory=list)
    fasta_file_url: str = Field(min_length=1)
    variant_ids: list[str] = Field(default_factory=list)
    variants: list[InlineVariant] = Field(default_factory=list)
    alt_seq_name_suffix: str = "_alt"

    @field_validator("unique_entry_id")
    @classmethod
    def _entry_id(cls, value: str) -> str:
        if not UNIQUE_ENTRY_ID.fullmatch(value):
            raise ValueError("must be 1 to 200 characters of A-Z, a-z, 0-9, '.', '_' or '-' (it is used in file names)")
        return value

    @field_validator("seq_strand", mode="before")
    @classmethod
    def _strand(cls, value: Any) -> Any:
        if value is None:
            return "+"
        text = str(value).strip().lower()
        if text in _PLUS:
            return "+"
        if text in _MINUS:
            return "-"
        raise ValueError(f"{value!r} is not a strand: use '+', '+1', 'pos', '-', '-1' or 'neg'")

    @field_validator("fasta_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" in value and not value.startswith(URL_SCHEMES):
            raise ValueError(f"{value!r}: only https://, http://, s3:// and (local runs) file:// are supported")
        if "://" in value and ("?" in value or "#" in value):
            raise ValueError(
                f"{value!r}: a URL with a query ('?') or fragment ('#') is not accepted: its index files are "
                "found at the URL followed by .fai and .gzi"
            )
        return value

    @field_validator("base_seq_name", "alt_seq_name_suffix")
    @classmethod
    def _sequence_name(cls, value: str) -> str:
        """Names go into FASTA headers and Clustal Omega's fixed-width name column."""
        if any(not 0x21 <= ord(c) <= 0x7E for c in value) or ">" in value:
            raise ValueError(
                f"{value!r}: sequence names are printable ASCII without white space or '>' "
                "(they name FASTA records and alignment rows)"
            )
        if len(value) > CLUSTAL_NAME_CHARS:
            raise ValueError(
                f"sequence names are at most {CLUSTAL_NAME_CHARS} characters, as Clustal Omega keeps no more "
                f"({len(value)} given)"
            )
        return value

    @field_validator("base_seq_name")
    @classmethod
    def _not_an_option(cls, value: str) -> str:
        if value.startswith("-"):
            raise ValueError(f"{value!r}: a sequence name must not start with '-' (Clustal Omega writes it blank)")
        return value

    @field_validator("variant_ids", mode="before")
    @classmethod
    def _few_variant_ids(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_VARIANT_IDS_PER_ENTRY:
            raise ValueError(
                f"{len(value)} variant IDs: at most {MAX_VARIANT_IDS_PER_ENTRY} per entry "
                "(each may be a request to the variant API)"
            )
        return value

    @field_validator("variants", mode="before")
    @classmethod
    def _few_variants(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_INLINE_VARIANTS_PER_ENTRY:
            raise ValueError(f"{len(value)} inline variants: at most {MAX_INLINE_VARIANTS_PER_ENTRY} per entry")
        return value

    @field_validator("seq_id", "fasta_file_url")
    @classmethod
    def _visible_text(cls, value: str) -> str:
        return visible(value)

    @field_validator("variant_ids")
    @classmethod
    def _variant_ids(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("variant IDs must not be empty")
        for v in value:
            visible(v)
        return value

    @model_validator(mode="after")
    def _regions(self) -> Entry:
        exons = _no_overlaps(self.exon_seq_regions, "exon regions")
        cds_regions = _no_overlaps(self.cds_seq_regions, "CDS regions")
        starts = [e.start for e in exons]
        for cds in cds_regions:  # each in the last exon starting at or before it (sorted, not overlapping)
            at = bisect.bisect_right(starts, cds.start) - 1
            if at < 0 or cds.end > exons[at].end:
                raise ValueError(f"CDS region {cds} does not lie inside any exon region")
        if self.has_variants and self.alt_seq_name_suffix == "_ref":
            raise ValueError("alt_seq_name_suffix '_ref' would give the alternative the reference's name")
        for name in self.output_names():
            if len(name) > CLUSTAL_NAME_CHARS:
                raise ValueError(_name_too_long(name, "base_seq_name and alt_seq_name_suffix"))
        defined: set[str] = set()
        for variant in self.variants:
            if variant.seq_id != self.seq_id:
                raise ValueError(
                    f"variant {variant.variant_id!r} is on sequence {variant.seq_id!r}, "
                    f"but the entry is on {self.seq_id!r}"
                )
            if variant.variant_id in defined:
                raise ValueError(f"variant ID {variant.variant_id!r} is defined more than once in variants")
            defined.add(variant.variant_id)
        if self.cds_seq_regions:
            longest = max(self.expected_residues())
            if longest > MAX_PROTEIN_RESIDUES:
                raise ValueError(
                    f"its protein would have about {longest:,} residues (CDS and inserted bases / 3): "
                    f"at most {MAX_PROTEIN_RESIDUES:,} can be aligned"
                )
        return self

    def expected_residues(self) -> tuple[int, int]:
        """Residues expected of the reference and the alternative protein, from the request
        alone: the CDS length over 3 (the exons' when no CDS is given: the ORF is at most that
        long), and for the alternative the inline variants' added bases too (a variant looked up
        by ID is not known yet). An entry without variants expects no alternative (0)."""
        regions = self.cds_seq_regions or self.exon_seq_regions
        reference = sum(region.length for region in regions) // 3
        if not self.has_variants:
            return reference, 0
        added = sum(max(0, len(v.alt) - len(v.ref)) for v in self.variants)
        return reference, reference + added // 3

    @property
    def has_variants(self) -> bool:
        return bool(self.variant_ids or self.variants)

    def output_names(self) -> list[str]:
        """The sequence names the entry produces: reference, then alternative when it has variants."""
        if self.has_variants:
            return [self.base_seq_name + "_ref", self.base_seq_name + self.alt_seq_name_suffix]
        return [self.base_seq_name]

    def all_variant_ids(self) -> list[str]:
        """The IDs of every variant of the entry: ``variant_ids`` first, then inline-only ones."""
        ids = dict.fromkeys(self.variant_ids)
        ids.update(dict.fromkeys(v.variant_id for v in self.variants))  # a set's lookups: 9,000 are not 81 million
        return list(ids)


class Job(BaseModel):
    """A validated job: the state machine's input shape ``{"seq_regions": [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq_regions: list[Entry] = Field(min_length=1)


def _no_overlaps[R: Region](regions: list[R], what: str) -> list[R]:
    """The regions sorted by start; ValueError naming two that overlap (or repeat)."""
    ordered = sorted(regions, key=lambda r: (r.start, r.end))
    for left, right in itertools.pairwise(ordered):
        if right.start <= left.end:
            same = "are the same region listed twice" if (left.start, left.end) == (right.start, right.end) else ""
            raise ValueError(f"{what} {left} and {right} {same or 'overlap'}")
    return ordered


def _name_too_long(name: str, fields: str) -> str:
    return (
        f"the sequence name {name[:40]}... ({fields}) has {len(name)} characters: "
        f"at most {CLUSTAL_NAME_CHARS}, as Clustal Omega keeps no more"
    )


def _field_path(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(("function-", "literal", "tagged-union")) or item in {"str", "int", "dict"}:
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _problems_of(index: int, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required, but missing"
        elif item["type"] == "extra_forbidden":
            message = "not a known field"
        problems.append(Problem(index, _field_path(item["loc"]), message))
    return problems


def unwrap_payload(payload: Any) -> Any:
    """The entry list of a payload: a bare list, ``{"seq_regions": [...]}`` or one entry object."""
    if isinstance(payload, dict) and "seq_regions" in payload:
        return payload["seq_regions"]
    if isinstance(payload, dict) and "unique_entry_id" in payload:
        return [payload]
    return payload


def expected_sequences(job: Job) -> int:
    """The sequences a job aligns at most: each reference, and each alternative its variants make."""
    return sum(len(entry.expected_residues()) for entry in job.seq_regions)


def requested_aligner(payload: Any) -> str | None:
    """The aligner a request names (``{"seq_regions": [...], "aligner": "clustalo" | "famsa"}``), or
    None; any other value is refused, naming the field."""
    from pavi.domain.aligners import ALIGNERS

    if not (isinstance(payload, dict) and "seq_regions" in payload and "aligner" in payload):
        return None
    aligner = payload["aligner"]
    if aligner not in ALIGNERS:
        raise RequestValidationError(
            [Problem(None, "aligner", f"{aligner!r} is not an aligner: {' or '.join(repr(a) for a in ALIGNERS)}")]
        )
    return str(aligner)


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply lists and objects nest in ``value`` (counted without recursion), up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_job(payload: Any, max_entries: int | None = None) -> Job:
    """Validate a payload and return the :class:`Job`, or raise with every problem listed.

    The entry count is checked first (:class:`EntryLimitError`), before any entry is
    validated. Entries whose sequence names repeat an earlier entry's are given distinct ones
    (:func:`distinct_names`).
    """
    if nesting_depth(payload) > MAX_DEPTH:
        raise RequestValidationError([Problem(None, "", f"the request nests deeper than {MAX_DEPTH} levels")])
    entries = unwrap_payload(payload)
    if not isinstance(entries, list):
        raise RequestValidationError(
            [Problem(None, "", 'the body must be a JSON list of entries or {"seq_regions": [...]}')]
        )
    if not entries:
        raise RequestValidationError([Problem(None, "", "the request holds no entries")])
    if max_entries is not None and len(entries) > max_entries:
        raise EntryLimitError([Problem(None, "", f"{len(entries)} entries: at most {max_entries} per job")])
    problems: list[Problem] = []
    parsed: list[Entry] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            problems.append(Problem(index, "", f"an entry must be a JSON object, not {type(raw).__name__}"))
            continue
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as error:
            problems.extend(_problems_of(index, error))
            continue
        if entry.unique_entry_id in seen:
            problems.append(
                Problem(
                    index,
                    "unique_entry_id",
                    f"{entry.unique_entry_id!r} is used already by entry {seen[entry.unique_entry_id]}",
                )
            )
        seen.setdefault(entry.unique_entry_id, index)
        parsed.append(entry)
    if problems:
        raise RequestValidationError(problems)
    named = distinct_names(parsed)
    for index, entry in enumerate(named):
        for name in entry.output_names():
            if len(name) > CLUSTAL_NAME_CHARS:
                problems.append(
                    Problem(index, "base_seq_name", _name_too_long(name, "renamed, as an earlier entry has its name"))
                )
    if problems:
        raise RequestValidationError(problems)
    check_job_size(named)
    return Job(seq_regions=named)


def check_job_size(entries: list[Entry]) -> None:
    """Raise :class:`JobSizeError` for a job whose proteins (expected) or variant-API lookups
    are more than a job may have, in all."""
    problems = []
    residues = sum(sum(entry.expected_residues()) for entry in entries)
    if residues > MAX_JOB_RESIDUES:
        problems.append(
            Problem(
                None,
                "",
                f"the job's proteins would have about {residues:,} residues in all: at most "
                f"{MAX_JOB_RESIDUES:,} can be aligned in one job",
            )
        )
    lookups = {i for entry in entries for i in set(entry.variant_ids) - {v.variant_id for v in entry.variants}}
    if len(lookups) > MAX_VARIANT_LOOKUPS_PER_JOB:
        problems.append(
            Problem(
                None,
                "variant_ids",
                f"{len(lookups):,} distinct variant IDs to look up in the variant API: at most "
                f"{MAX_VARIANT_LOOKUPS_PER_JOB:,} per job",
            )
        )
    if problems:
        raise JobSizeError(problems)


def distinct_names(entries: list[Entry]) -> list[Entry]:
    """The entries, each later one whose sequence names repeat an earlier one's renamed
    ``{base_seq_name}_2`` (``_3``...), so that every alignment row and seq-info key is its own
    (``docs/decisions.md`` §7)."""
    taken: set[str] = set()
    last_number: dict[str, int] = {}  # per base name: numbers below it are taken (linear, not quadratic)
    renamed = []
    for entry in entries:
        number = last_number.get(entry.base_seq_name, 1)
        candidate = entry
        if number > 1:
            candidate = entry.model_copy(update={"base_seq_name": f"{entry.base_seq_name}_{number}"})
        while any(name in taken for name in candidate.output_names()):
            number += 1
            candidate = entry.model_copy(update={"base_seq_name": f"{entry.base_seq_name}_{number}"})
        last_number[entry.base_seq_name] = number
        taken.update(candidate.output_names())
        renamed.append(candidate)
    return renamed
