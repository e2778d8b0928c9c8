"""The request's genomic parts: a region, a CDS region with its phase, an inline variant
(SPEC section 1), and the check that keeps hidden characters out of names and IDs."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_STRING_REGION = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
_BASES = re.compile(r"^[ACGTNacgtn]*$")
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi, zero-width), unassigned


def visible(value: str) -> str:
    """``value`` unless it holds a control, format (bidirectional, zero-width) or unassigned character."""
    for char in value:
        if unicodedata.category(char) in _HIDDEN:
            name = unicodedata.name(char, "a control character")
            raise ValueError(f"{value!r} holds U+{ord(char):04X} ({name}), which is not allowed")
    return value


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
    """A CDS region; ``frame`` is the GFF phase (bases to skip to the first whole codon).

    A region written as a string (``"5780644..5780722"``, as the original PAVI's own example
    writes them) carries no frame (None): the frames are then computed from the regions' lengths,
    as GFF3 defines phases, where the CDS shows them unambiguously (it starts with a start codon
    and runs in whole codons: :func:`pavi.domain.transcripts.coding_frame`)."""

    frame: Literal[0, 1, 2] | None = None

    @field_validator("frame", mode="before")
    @classmethod
    def _integer_frame(cls, value: Any) -> Any:
        if value is not None and type(value) is not int:
            raise ValueError(f"frame must be the integer 0, 1 or 2, not {value!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _needs_frame(cls, value: Any) -> Any:
        if isinstance(value, dict) and "frame" not in value:
            raise ValueError(
                "every CDS region written as an object needs a 'frame' (0, 1 or 2); "
                "written as a string ('start..end') its frame is computed"
            )
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
        return visible(value)

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
