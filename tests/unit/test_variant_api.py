"""The Alliance variant API client against a real local HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.http_server import serve

from pavi.domain.errors import VariantError
from pavi.domain.request import parse_job
from pavi.domain.variant_api import VariantApiClient, resolve_variants

VARIANT_ID = "NC_003284.9:g.5113285_5115215del"
ENCODED = "/api/variant/NC_003284.9%3Ag.5113285_5115215del"


@pytest.fixture
def response_body(conformance: Path) -> bytes:
    return (conformance / "pavi-upstream" / "agr-variant-api-response-example.json").read_bytes()


def test_example_response_is_parsed_and_the_id_url_encoded(response_body: bytes) -> None:
    with serve(documents={ENCODED: response_body}) as server:
        client = VariantApiClient(f"{server.url}/api/variant")
        variant = client.get(VARIANT_ID)
        assert server.requests[0][0] == ENCODED
    expected = json.loads(response_body)
    assert variant.variant_id == VARIANT_ID
    assert variant.genomic_seq_id == "X"
    assert (variant.genomic_start_pos, variant.genomic_end_pos) == (5113285, 5115215)
    assert variant.genomic_ref_seq == expected["genomicReferenceSequence"]
    assert variant.genomic_alt_seq == ""
    assert variant.substitution_type == "deletion"
    assert variant.seq_length == 1931


def test_answers_are_cached_per_process(response_body: bytes) -> None:
    with serve(documents={ENCODED: response_body}) as server:
        client = VariantApiClient(server.url + "/api/variant/")
        client.get(VARIANT_ID)
        client.get(VARIANT_ID)
        assert len(server.requests) == 1


def test_404_is_a_clear_error() -> None:
    expected = r"variant NC_1:g\.1A>T was not found in the variant API \(404\)"
    with serve(documents={}) as server, pytest.raises(VariantError, match=expected):
        VariantApiClient(server.url + "/api/variant/").get("NC_1:g.1A>T")


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_then_answered(response_body: bytes, status: int) -> None:
    with serve(documents={ENCODED: response_body}) as server:
        server.faults.fail_first[ENCODED] = (2, status)
        variant = VariantApiClient(server.url + "/api/variant/").get(VARIANT_ID)
        assert variant.genomic_seq_id == "X"
        assert len(server.requests) == 3


def test_persistent_failure_gives_up_with_the_status(response_body: bytes) -> None:
    with serve(documents={ENCODED: response_body}) as server:
        server.faults.fail_first[ENCODED] = (10, 502)
        with pytest.raises(VariantError, match="the variant API answered HTTP 502"):
            VariantApiClient(server.url + "/api/variant/", retries=2).get(VARIANT_ID)
        assert len(server.requests) == 3


def test_slow_answer_times_out(response_body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVI_HTTP_READ_TIMEOUT", "0.2")
    with serve(documents={ENCODED: response_body}) as server:
        server.faults.delay[ENCODED] = 1.0
        with pytest.raises(VariantError, match="did not answer after 2 attempts"):
            VariantApiClient(server.url + "/api/variant/", retries=1).get(VARIANT_ID)


def test_slow_but_within_the_timeout_is_fine(response_body: bytes) -> None:
    with serve(documents={ENCODED: response_body}) as server:
        server.faults.delay[ENCODED] = 0.3
        assert VariantApiClient(server.url + "/api/variant/").get(VARIANT_ID).genomic_start_pos == 5113285


def test_answer_without_location_is_an_error() -> None:
    with serve(documents={"/api/variant/v1": b'{"id": "v1"}'}) as server, pytest.raises(VariantError, match="lacks"):
        VariantApiClient(server.url + "/api/variant/").get("v1")


def test_base_url_from_the_environment_and_inline_definitions_are_not_looked_up(
    response_body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = {"variant_id": "inline1", "seq_id": "X", "start": 5, "end": 5, "ref": "A", "alt": "G"}
    entry = parse_job(
        [
            {
                "unique_entry_id": "e",
                "base_seq_name": "g",
                "seq_id": "X",
                "exon_seq_regions": ["1..100"],
                "fasta_file_url": "/tmp/none.fa",
                "variant_ids": [VARIANT_ID, "inline1"],
                "variants": [inline],
            }
        ]
    ).seq_regions[0]
    with serve(documents={ENCODED: response_body}) as server:
        monkeypatch.setenv("PAVI_VARIANT_API_URL", server.url + "/api/variant/")
        variants = resolve_variants(entry)
        assert [p for p, _ in server.requests] == [ENCODED]
    assert [v.variant_id for v in variants] == [VARIANT_ID, "inline1"]
