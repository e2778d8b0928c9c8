"""The request model (SPEC section 1): every rule, and every problem listed at once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from pavi.domain.errors import RequestValidationError
from pavi.domain.request import parse_job


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "unique_entry_id": "e1",
        "base_seq_name": "gene1",
        "seq_id": "X",
        "exon_seq_regions": ["10..20"],
        "fasta_file_url": "https://example.org/genome.fa.gz",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def problems(payload: Any) -> list[tuple[int | None, str, str]]:
    with pytest.raises(RequestValidationError) as caught:
        parse_job(payload)
    return [(p.entry_index, p.field, p.message) for p in caught.value.problems]


def test_upstream_success_payload_parses(conformance: Path) -> None:
    payload = json.loads((conformance / "pavi-upstream" / "api-payload-success.json").read_text())
    job = parse_job(payload)
    assert [e.unique_entry_id for e in job.seq_regions] == [e["unique_entry_id"] for e in payload]
    yn32 = next(e for e in job.seq_regions if e.unique_entry_id == "002_apl-1_C42D8.8a.1_yn32")
    assert yn32.seq_strand == "-"
    assert yn32.exon_seq_regions[0].start == 5116799 and yn32.exon_seq_regions[0].end == 5116866
    assert yn32.variant_ids == ["NC_003284.9:g.5114224C>T"]
    assert yn32.output_names() == ["apl-1_C42D8.8a.1_ref", "apl-1_C42D8.8a.1_yn32"]


def test_upstream_invalid_payload_names_every_problem(conformance: Path) -> None:
    payload = json.loads((conformance / "pavi-upstream" / "api-payload-invalid.json").read_text())
    found = problems(payload)
    assert (0, "unique_entry_id", "required, but missing") in found
    assert (0, "seq_id", "required, but missing") in found
    assert (0, "exon_seq_regions", "required, but missing") in found
    assert (0, "fasta_file_url", "required, but missing") in found
    assert (1, "unique_entry_id", "required, but missing") in found
    assert (1, "base_seq_name", "required, but missing") in found
    assert {index for index, _, _ in found} == {0, 1}


def test_state_machine_shape_and_single_entry_are_accepted() -> None:
    assert len(parse_job({"seq_regions": [entry()]}).seq_regions) == 1
    assert parse_job(entry()).seq_regions[0].unique_entry_id == "e1"


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("30..10", (10, 30)),
        ("10..30", (10, 30)),
        ({"start": 30, "end": 10}, (10, 30)),
        ({"start": 10, "end": 30}, (10, 30)),
    ],
)
def test_regions_are_normalised_low_to_high(spelling: object, expected: tuple[int, int]) -> None:
    region = parse_job([entry(exon_seq_regions=[spelling])]).seq_regions[0].exon_seq_regions[0]
    assert (region.start, region.end) == expected


@pytest.mark.parametrize(
    ("text", "strand"), [("+", "+"), ("+1", "+"), ("pos", "+"), ("-", "-"), ("-1", "-"), ("neg", "-"), (None, "+")]
)
def test_strand_spellings(text: str | None, strand: str) -> None:
    assert parse_job([entry(seq_strand=text)]).seq_regions[0].seq_strand == strand


def test_defaults() -> None:
    parsed = parse_job([entry()]).seq_regions[0]
    assert parsed.seq_strand == "+"
    assert parsed.cds_seq_regions == [] and parsed.variant_ids == [] and parsed.variants == []
    assert parsed.alt_seq_name_suffix == "_alt"
    assert parsed.output_names() == ["gene1"]


def test_every_problem_of_every_entry_is_listed() -> None:
    payload = [
        entry(
            unique_entry_id="bad id/with slash",
            seq_strand="up",
            exon_seq_regions=["1..x", "50..60", "55..70"],
            cds_seq_regions=[{"start": 12, "end": 14}],  # an object needs its frame (a string is computed)
            fasta_file_url="ftp://example.org/g.fa",
        ),
        entry(unique_entry_id="e2", exon_seq_regions=[], cds_seq_regions=[{"start": 1, "end": 3}]),
        "not an object",
    ]
    found = problems(payload)
    fields = {(index, field) for index, field, _ in found}
    assert (0, "unique_entry_id") in fields
    assert (0, "seq_strand") in fields
    assert (0, "exon_seq_regions[0]") in fields
    assert (0, "cds_seq_regions[0]") in fields
    assert (0, "fasta_file_url") in fields
    assert (1, "exon_seq_regions") in fields
    assert (1, "cds_seq_regions[0]") in fields
    assert (2, "") in fields
    cds_message = next(m for i, f, m in found if (i, f) == (0, "cds_seq_regions[0]"))
    assert "frame" in cds_message


def test_overlapping_exons_and_cds_outside_exons_are_rejected() -> None:
    found = problems([entry(exon_seq_regions=["10..20", "15..30"])])
    assert any("overlap" in m for _, _, m in found)
    found = problems([entry(cds_seq_regions=[{"start": 5, "end": 12, "frame": 0}])])
    assert any("does not lie inside any exon" in m for _, _, m in found)


def test_frame_must_be_0_1_or_2() -> None:
    found = problems([entry(cds_seq_regions=[{"start": 10, "end": 12, "frame": 3}])])
    assert found[0][:2] == (0, "cds_seq_regions[0].frame")


def test_duplicate_ids_are_rejected() -> None:
    found = problems([entry(), entry(), entry(unique_entry_id="e3")])
    assert found == [(1, "unique_entry_id", "'e1' is used already by entry 0")]


def test_unique_entry_id_length_limit() -> None:
    assert parse_job([entry(unique_entry_id="a" * 200)])
    assert problems([entry(unique_entry_id="a" * 201)])[0][1] == "unique_entry_id"


def test_inline_variant_rules() -> None:
    ok = {"variant_id": "v1", "seq_id": "X", "start": 12, "end": 12, "ref": "c", "alt": "T"}
    parsed = parse_job([entry(variants=[ok])]).seq_regions[0]
    assert parsed.variants[0].ref == "C"
    assert parsed.output_names() == ["gene1_ref", "gene1_alt"]
    bad = [
        {**ok, "ref": "", "alt": ""},
        {**ok, "start": 13, "end": 12},
        {**ok, "ref": "", "alt": "A", "end": 14},
        {**ok, "ref": "CC"},
        {**ok, "alt": "U"},
        {**ok, "seq_id": "Y"},
    ]
    for variant in bad:
        assert problems([entry(variants=[variant])]), variant


def test_inline_definitions_join_variant_ids() -> None:
    inline = {"variant_id": "v2", "seq_id": "X", "start": 12, "end": 13, "ref": "", "alt": "A"}
    parsed = parse_job([entry(variant_ids=["v1", "v2"], variants=[inline])]).seq_regions[0]
    assert parsed.all_variant_ids() == ["v1", "v2"]
    parsed = parse_job([entry(variants=[inline])]).seq_regions[0]
    assert parsed.all_variant_ids() == ["v2"]


def test_names_must_not_hold_white_space() -> None:
    assert problems([entry(base_seq_name="my gene")])[0][1] == "base_seq_name"


def test_empty_and_wrong_shapes() -> None:
    assert problems([]) == [(None, "", "the request holds no entries")]
    assert problems("text")[0][0] is None


def test_repeated_sequence_names_are_numbered_in_linear_time() -> None:
    named = [entry(unique_entry_id="a"), entry(unique_entry_id="b", base_seq_name="gene1_2")]
    named += [entry(unique_entry_id=f"r{n}") for n in range(3)]
    names = [e.base_seq_name for e in parse_job(named).seq_regions]
    assert names == ["gene1", "gene1_2", "gene1_3", "gene1_4", "gene1_5"]  # a name given is never reused
    many = [entry(unique_entry_id=f"e{n}") for n in range(10_000)]
    started = time.process_time()
    job = parse_job(many)
    assert job.seq_regions[-1].base_seq_name == "gene1_10000"
    # each entry is renamed once (it took minutes when each tried every number below its own)
    assert time.process_time() - started < 10
