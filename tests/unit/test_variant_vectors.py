"""The previous PAVI's own answers on 49 variant cases (``conformance/variants/``): for every
case whose verdict is not a ``JUDGEMENT:``, the alternative protein (or the fact of an error)
and the five embedded fields of every listed variant, in the same order (issue 13).

A case this project does not match yet goes in ``NOT_YET`` with the rule it needs, as a strict
expected failure (it fails the suite the day it starts matching and must then leave the list).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pavi.domain.request import parse_job
from pavi.domain.retrieval import retrieve_entry
from pavi.domain.url_policy import UrlPolicy

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "variants"
FIELDS = ("seq_start_pos", "seq_end_pos", "embedded_ref_seq_len", "embedded_alt_seq_len", "seq_substitution_type")
NOT_YET: dict[str, str] = {}  # case -> the rule it still needs (none now)


@cache
def vectors() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    text = (CONFORMANCE / "variants_payload.json").read_text()
    payload = json.loads(text.replace("file://ORACLE_DIR/", f"file://{CONFORMANCE.parent}/"))
    entries = {entry.unique_entry_id: entry for entry in parse_job(payload).seq_regions}
    expected = json.loads((CONFORMANCE / "variants_expected.json").read_text())
    upstream = json.loads((CONFORMANCE / "variants_upstream_seqinfo.json").read_text())
    return entries, expected, upstream


def cases() -> list[Any]:
    if not CONFORMANCE.is_dir():  # tests/conftest.py's conformance fixture says why, in the other tests
        return []
    _, expected, _ = vectors()
    found = []
    for case, answer in sorted(expected.items()):
        if "JUDGEMENT:" in answer["note"]:
            continue  # this project keeps its own answer: docs/decisions.md
        marks = [pytest.mark.xfail(strict=True, reason=f"issue 13, {NOT_YET[case]}")] if case in NOT_YET else []
        found.append(pytest.param(case, marks=marks, id=case))
    return found


def test_the_vectors_are_all_here() -> None:
    entries, expected, upstream = vectors()
    assert len(entries) == len(expected) == len(upstream) == 49
    assert len(cases()) == 44  # 49 less the 5 JUDGEMENT cases


@pytest.mark.parametrize("case", cases())
def test_each_case_equals_the_previous_pavi(case: str) -> None:
    entries, expected, upstream = vectors()
    result = retrieve_entry(entries[case], UrlPolicy(None))
    alternative = result.sequences[1]
    if expected[case]["expected_protein"] is None:
        assert alternative.protein is None and "error" in alternative.info, alternative
        return
    assert alternative.protein is not None, alternative.info
    assert alternative.protein.rstrip("*") == expected[case]["expected_protein"]
    (theirs,) = [info for info in upstream[case].values() if info]
    ours = alternative.info.get("embedded_variants", [])
    assert [v["variant_id"] for v in ours] == [v["variant_id"] for v in theirs["embedded_variants"]]
    for mine, previous in zip(ours, theirs["embedded_variants"], strict=True):
        assert {f: mine[f] for f in FIELDS} == {f: previous[f] for f in FIELDS}, mine["variant_id"]


# This project's own answers where the previous PAVI's is doubtful (docs/decisions.md §20):
# the case -> what its alternative-sequence error must say (None: it gets a protein).
JUDGEMENT = {
    "AC007323_T25K16.10_AAF26462.1__del3_intron_end_into_exon_plus": (
        "variant del3_intron_end_into_exon_plus: changes the acceptor splice site of intron 2 (AC007323:52638-52639"
    ),
    "AL138972_EG_BACR25B3.2_CAB72287.1__del5_exon_end_into_intron_minus": (
        "variant del5_exon_end_into_intron_minus: changes the donor splice site of intron 4 (AL138972:72603-72604"
    ),
    "HLA00001_HLA_A__ins3_exon_intron_junction_plus": (
        "variant ins3_exon_intron_junction_plus: inserts between 773 and 774, at the donor splice site of intron 2"
    ),
    "chr2R_7000001_7500000_aug_g36.t1__ref_mismatch_utr5_minus": (
        "variant ref_mismatch_utr5_minus: reference mismatch at chr2R_7000001_7500000:171330: expected T, genome has C"
    ),
    "AJ237582_csp14_CAB39890.1__partial_cds_snv_plus": None,
}


def test_the_judgement_cases_are_those_this_project_answers_itself() -> None:
    _, expected, _ = vectors()
    assert {case for case, answer in expected.items() if "JUDGEMENT:" in answer["note"]} == set(JUDGEMENT)


@pytest.mark.parametrize("case", sorted(JUDGEMENT))
def test_each_judgement_case_gets_this_projects_answer(case: str) -> None:
    entries, expected, _ = vectors()
    alternative = retrieve_entry(entries[case], UrlPolicy(None)).sequences[1]
    error = JUDGEMENT[case]
    if error is not None:
        assert alternative.protein is None
        assert alternative.info["error"].startswith(error)
        return
    # a 5'-partial CDS still gets its alternative protein: codon 15 CAA > AAA (Q > K)
    reference = expected[case]["reference_protein"]
    assert reference[14] == "Q"
    assert alternative.protein == reference[:14] + "K" + reference[15:]
    (embedded,) = alternative.info["embedded_variants"]
    assert {f: embedded[f] for f in FIELDS} == {
        "seq_start_pos": 15,
        "seq_end_pos": 15,
        "embedded_ref_seq_len": 1,
        "embedded_alt_seq_len": 1,
        "seq_substitution_type": "substitution",
    }
