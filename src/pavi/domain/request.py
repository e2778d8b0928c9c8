"""The request model: one pipeline entry and a job (SPEC section 1).

One model serves the validation Lambda, the API (Powertools' Parser takes pydantic
models) and the CLI. :func:`parse_job` validates every entry and raises one
:class:`~pavi.domain.errors.RequestValidationError` that lists *all* problems, each with the
entry's index, the field and the reason.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pavi.domain.errors import EntryLimitError, Problem, RequestValidationError

UNIQUE_ENTRY_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")  # whole value: fullmatch
_STRING_REGION = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
_BASES = re.compile(r"^[ACGTNacgtn]*$")
_PLUS = {"+", "+1", "pos", "1"}
_MINUS = {"-", "-1", "neg"}
URL_SCHEMES = ("https://", "http://", "s3://", "file://")
MAX_DEPTH = 32  # JSON nesting a request may have: entries are 4 levels deep
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi, zero-width), unassigned


def _visible(value: str) -> str:
    """``value`` unless it holds a control, format (bidirectional, zero-width) or unassigned character."""
    for char in value:
        if unicodedata.category(char) in _HIDDEN:
            name = unicodedata.name(char, "a control character")
            raise ValueError(f"{value!r} holds U+{ord(char):04X} ({name}), which is not allowed")
    return value


Strand = Literal["+", "-"]


class Region(BaseModel):
    """A 1-based, inclusive genomic region on the plus strand, normalised to start <= end."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    start: int = Field(ge=1)
    end: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _STRING_REGION.match(value)
            if not match:
                raise ValueError(f"region {value!r} is not of the form 'start..end' (1-based, inclusive)")
            value = {"start": int(match[1]), "end": int(match[2])}
        if isinstance(value, dict) and all(type(value.get(k)) is int for k in ("start", "end")):
            low, high = sorted((value["start"], value["end"]))
            value = {**value, "start": low, "end": high}
        return value

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


class CdsRegion(Region):
    """A CDS region; ``frame`` is the GFF phase (bases to skip to the first whole codon)."""

    frame: Literal[0, 1, 2]

    @field_validator("frame", mode="before")
    @classmethod
    def _integer_frame(cls, value: Any) -> Any:
        if type(value) is not int:
            raise ValueError(f"frame must be the integer 0, 1 or 2, not {value!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _needs_frame(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                f"CDS region {value!r} is a string and cannot carry a frame; "
                'write it as {"start": int, "end": int, "frame": 0|1|2}'
            )
        if isinstance(value, dict) and "frame" not in value:
            raise ValueError("every CDS region needs a 'frame' (0, 1 or 2)")
        return value


class InlineVariant(BaseModel):
    """A variant defined in the request: genomic, plus strand, 1-based inclusive.

    An insertion gives its two flanking bases as start/end (end = start + 1) and ref "".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    variant_id: str = Field(min_length=1, max_length=500)
    seq_id: str = Field(min_length=1)
    start: int = Field(ge=1)
    end: int = Field(ge=1)
    ref: str = ""
    alt: str = ""

    @field_validator("variant_id", "seq_id")
    @classmethod
    def _names(cls, value: str) -> str:
        return _visible(value)

    @field_validator("ref", "alt")
    @classmethod
    def _bases(cls, value: str) -> str:
        if not _BASES.match(value):
            raise ValueError(f"{value!r} holds characters other than A, C, G, T, N")
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> InlineVariant:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is greater than end {self.end}")
        if not self.ref and not self.alt:
            raise ValueError("a variant needs at least one of ref and alt")
        if not self.ref and self.end != self.start + 1:
            raise ValueError("an insertion (empty ref) gives its two flanking bases: end must be start + 1")
        if self.ref and len(self.ref) != self.end - self.start + 1:
            raise ValueError(
                f"ref {self.ref!r} has {len(self.ref)} bases but {self.start}..{self.end} "
                f"spans {self.end - self.start + 1}"
            )
        return self


class Entry(BaseModel):
    """One transcript to retrieve, with its variants (SPEC section 1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

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
        if len(value) > 200:
            raise ValueError(f"sequence names are at most 200 characters ({len(value)} given)")
        return value

    @field_validator("seq_id", "fasta_file_url")
    @classmethod
    def _visible_text(cls, value: str) -> str:
        return _visible(value)

    @field_validator("variant_ids")
    @classmethod
    def _variant_ids(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("variant IDs must not be empty")
        for v in value:
            _visible(v)
        return value

    @model_validator(mode="after")
    def _regions(self) -> Entry:
        exons = sorted(self.exon_seq_regions, key=lambda r: r.start)
        for left, right in itertools.pairwise(exons):
            if right.start <= left.end:
                raise ValueError(f"exon regions {left} and {right} overlap")
        for cds in self.cds_seq_regions:
            if not any(e.start <= cds.start and cds.end <= e.end for e in exons):
                raise ValueError(f"CDS region {cds} does not lie inside any exon region")
        if self.has_variants and self.alt_seq_name_suffix == "_ref":
            raise ValueError("alt_seq_name_suffix '_ref' would give the alternative the reference's name")
        for variant in self.variants:
            if variant.seq_id != self.seq_id:
                raise ValueError(
                    f"variant {variant.variant_id!r} is on sequence {variant.seq_id!r}, "
                    f"but the entry is on {self.seq_id!r}"
                )
        return self

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
        ids = list(dict.fromkeys(self.variant_ids))
        ids += [v.variant_id for v in self.variants if v.variant_id not in ids]
        return ids


class Job(BaseModel):
    """A validated job: the state machine's input shape ``{"seq_regions": [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq_regions: list[Entry] = Field(min_length=1)


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
    return Job(seq_regions=distinct_names(parsed))


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
