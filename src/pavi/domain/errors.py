"""Exceptions of the PAVI domain.

Every exception says what was wrong with which input, so that its message can be shown
to the researcher as it is (in a seqinfo ``error``, an API answer or a CLI report).
"""

from __future__ import annotations

from dataclasses import dataclass


class PaviError(Exception):
    """Base class of every error the pipeline raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem of a request: which entry (index in the list), which field, why."""

    entry_index: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = "request" if self.entry_index is None else f"entry {self.entry_index}"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"entry_index": self.entry_index, "field": self.field, "message": self.message}


class RequestValidationError(PaviError):
    """A request with one or more problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid request ({len(problems)} problem(s)):\n{lines}")


class EntryLimitError(RequestValidationError):
    """A request with more entries than a job may have (checked before any entry is validated)."""


class JobSizeError(RequestValidationError):
    """A job whose entries are valid but more than a job may have in all (residues, lookups)."""


class GenomeAccessError(PaviError):
    """A genome FASTA or its index could not be read (missing, unreachable, corrupt, refused)."""


class SequenceError(PaviError):
    """An entry's sequence cannot be built (unknown sequence, region past its end, no ORF...)."""


class UnalignableSequence(SequenceError):
    """A protein that was made but cannot be aligned (only unknown residues): left out of the
    alignment, with its reason, without failing the job (issue 20, item 7)."""


class VariantError(PaviError):
    """A variant cannot be resolved or embedded; an error of the alternative sequence only.
    ``consequence`` (SO terms) and ``hgvs_p`` say what the variant does where that is known
    (``start_lost`` and ``p.Met1?``, ``splice_donor_variant``...): the seq-info carries them."""

    def __init__(self, message: str, consequence: list[str] | None = None, hgvs_p: str | None = None):
        super().__init__(message)
        self.consequence = consequence or []
        self.hgvs_p = hgvs_p


class UrlNotAllowedError(GenomeAccessError):
    """A URL refused by the allow-list policy before any request was made."""
