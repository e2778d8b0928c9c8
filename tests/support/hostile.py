"""The hostile-input corpus (issue 14): request bodies an attacker or a careless client sends,
each with the answer it must get and what that answer must name.

Run against the validator (``parse_job``), the API handler and ``pavi serve`` by
``tests/api/test_hostile.py``; its size and result are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from support.demo import demo_entries

MAX_ENTRIES = 1000  # the tests' ApiMaxEntries (--parameter-overrides)
NAN_START = (
    b'[{"unique_entry_id": "a", "base_seq_name": "A", "seq_id": "X", "fasta_file_url": "x.fa", '
    b'"exon_seq_regions": [{"start": NaN, "end": 5}]}]'
)


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    status: int  # what the API answers
    names: str  # a text the answer's problems (or detail) must hold: the field, or the reason

    @property
    def is_json(self) -> bool:
        try:
            json.loads(self.body)
        except (ValueError, RecursionError):
            return False
        return True


def _entry(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(demo_entries()[0])
    for path, value in changes.items():
        target: Any = entry
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return entry


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


def _case(name: str, entries: Any, status: int, names: str) -> Case:
    return Case(name, entries if isinstance(entries, bytes) else _body(entries), status, names)


def _variant(**variant: Any) -> dict[str, Any]:
    base = {"variant_id": "v1", "seq_id": demo_entries()[0]["seq_id"], "start": 5, "end": 5, "ref": "A", "alt": "C"}
    return {**base, **variant}


def _with_variant(**variant: Any) -> dict[str, Any]:
    return _entry(variants=[_variant(**variant)])


def corpus() -> list[Case]:
    first = demo_entries()[0]
    return [
        # identifiers and names: what later fails opaquely (file names, FASTA headers, Clustal rows)
        _case("entry id with a final newline", [_entry(unique_entry_id="abc\n")], 422, "unique_entry_id"),
        _case("entry id with a path", [_entry(unique_entry_id="../../etc/passwd")], 422, "unique_entry_id"),
        _case("entry id with NUL", [_entry(unique_entry_id="a\x00b")], 422, "unique_entry_id"),
        _case("entry id of 201 characters", [_entry(unique_entry_id="a" * 201)], 422, "unique_entry_id"),
        _case("name with NUL", [_entry(base_seq_name="A\x00B")], 422, "base_seq_name"),
        _case("name with a bidi override", [_entry(base_seq_name="\u202eABC")], 422, "base_seq_name"),
        _case("name with a zero-width space", [_entry(base_seq_name="A\u200bB")], 422, "base_seq_name"),
        _case("name with a space", [_entry(base_seq_name="A B")], 422, "base_seq_name"),
        _case("name with '>'", [_entry(base_seq_name="A>B")], 422, "base_seq_name"),
        _case("name of 10,000 characters", [_entry(base_seq_name="N" * 10_000)], 422, "base_seq_name"),
        _case("suffix with a newline", [_entry(alt_seq_name_suffix="_x\n", variant_ids=["v"])], 422, "suffix"),
        _case("suffix '_ref'", [_entry(alt_seq_name_suffix="_ref", variant_ids=["v"])], 422, "_ref"),
        _case("seq_id with a zero-width joiner", [_entry(seq_id=first["seq_id"] + "\u200d")], 422, "seq_id"),
        _case("variant ID with a bidi mark", [_entry(variant_ids=["v\u200f1"])], 422, "variant_ids"),
        _case("variant ID empty", [_entry(variant_ids=[" "])], 422, "variant_ids"),
        _case("variant ID a number", [_entry(variant_ids=[7])], 422, "variant_ids"),
        # strict types: nothing coerced
        _case("exon start true", [_entry(exon_seq_regions__0__start=True)], 422, "exon_seq_regions[0]"),
        _case("exon start a string", [_entry(exon_seq_regions__0__start="1")], 422, "exon_seq_regions[0]"),
        _case("exon start a float", [_entry(exon_seq_regions__0__start=1.0)], 422, "exon_seq_regions[0]"),
        _case("exon start NaN", NAN_START, 422, "exon_seq_regions[0]"),
        _case("exon start 0", [_entry(exon_seq_regions__0__start=0)], 422, "exon_seq_regions[0]"),
        _case("exon start negative", [_entry(exon_seq_regions__0__start=-5)], 422, "exon_seq_regions[0]"),
        _case("CDS frame true", [_entry(cds_seq_regions__0__frame=True)], 422, "cds_seq_regions[0]"),
        _case("CDS frame 3", [_entry(cds_seq_regions__0__frame=3)], 422, "cds_seq_regions[0]"),
        _case("CDS outside the exons", [_entry(cds_seq_regions=[{"start": 1, "end": 2, "frame": 0}])], 422, "CDS"),
        _case(
            "overlapping exons",
            [_entry(exon_seq_regions=[{"start": 1, "end": 50}, {"start": 40, "end": 90}])],
            422,
            "overlap",
        ),
        _case("no exons", [_entry(exon_seq_regions=[])], 422, "exon_seq_regions"),
        _case("strand sideways", [_entry(seq_strand="sideways")], 422, "seq_strand"),
        _case("variant start a string", [_with_variant(start="5", end=5)], 422, "variants[0]"),
        _case("variant ref not bases", [_with_variant(ref="X")], 422, "variants[0]"),
        _case("variant ref longer than its span", [_with_variant(ref="AC")], 422, "variants[0]"),
        _case("variant on another sequence", [_with_variant(seq_id="chrOther")], 422, "chrOther"),
        _case("variant with an unknown field", [_with_variant(extra=1)], 422, "variants[0].extra"),
        # URLs
        _case(
            "the backslash bypass",
            [_entry(fasta_file_url="http://127.0.0.1:18742\\@93.184.216.34/genome.fa.gz")],
            422,
            "backslash",
        ),
        _case("userinfo", [_entry(fasta_file_url="http://a@93.184.216.34/genome.fa.gz")], 422, "user name"),
        _case("a decimal IP", [_entry(fasta_file_url="http://2130706433/genome.fa.gz")], 422, "canonical"),
        _case("gopher", [_entry(fasta_file_url="gopher://93.184.216.34/genome.fa.gz")], 422, "fasta_file_url"),
        _case("URL with a newline", [_entry(fasta_file_url="https://a.example/x.fa\nHost: b")], 422, "fasta_file_url"),
        # what later parts could not take (issue 20): refused up front, the entry and field named
        _case("a name Clustal Omega would cut", [_entry(base_seq_name="N" * 128)], 422, "at most 127"),
        _case("a name Clustal Omega writes blank", [_entry(base_seq_name="-A")], 422, "must not start with '-'"),
        _case(
            "a CDS region listed twice",
            [_entry(cds_seq_regions=[first["cds_seq_regions"][0]] * 2)],
            422,
            "same region listed twice",
        ),
        _case("a FASTA URL with a query", [_entry(fasta_file_url="file:///dev/zero?")], 422, "query"),
        _case("one variant ID defined twice", [_entry(variants=[_variant(), _variant()])], 422, "more than once"),
        _case("201 variant IDs in an entry", [_entry(variant_ids=[f"v{i}" for i in range(201)])], 422, "at most 200"),
        _case(
            "1,001 variant IDs to look up in a job",
            [_entry(unique_entry_id=f"e{k}", variant_ids=[f"v{k}_{i}" for i in range(200)]) for k in range(5)]
            + [_entry(unique_entry_id="e5", variant_ids=["last"])],
            413,
            "1,001 distinct variant IDs",
        ),
        _case("a 990,000-base insertion", [_with_variant(start=5, end=6, ref="", alt="GCT" * 330_000)], 422, "36,000"),
        # shapes and sizes
        _case("not JSON", b"{not json", 400, "not JSON"),
        _case("not UTF-8", b"\xff\xfe[\x00", 400, "not JSON"),
        _case("100,000 levels of nesting", b"[" * 100_000 + b"]" * 100_000, 400, "nests"),
        _case("40 levels of nesting", _body(_nested(40)), 400, "nests"),
        _case("an object without entries", {"foo": 1}, 422, "JSON list"),
        _case("no entries", [], 422, "no entries"),
        _case("an entry that is a number", [1], 422, "JSON object"),
        _case("an entry that is null", [None], 422, "JSON object"),
        _case("a missing field", [{"unique_entry_id": "a"}], 422, "required"),
        _case("two entries with one ID", [_entry(), _entry()], 422, "is used already by entry 0"),
        _case("too many entries, checked first", [{}] * (MAX_ENTRIES + 1), 413, f"at most {MAX_ENTRIES}"),
        _case("a body over 1 MiB", b"[" + b" " * (1024 * 1024) + b"]", 413, "larger than"),
    ]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value
