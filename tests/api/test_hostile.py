"""The hostile-input corpus (``support.hostile``) against the validator, the API handler (in its
own process, as API Gateway invokes it) and ``pavi serve`` over HTTP: every case gets its
answer, naming the entry's field or the reason, and never a 500 (issue 14, items 10 to 12)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hostile import MAX_ENTRIES, Case, corpus
from support.serve import Served, pavi_serve

from pavi.aws.steps import url_problems
from pavi.domain.errors import EntryLimitError, JobSizeError, RequestValidationError
from pavi.domain.request import MAX_DEPTH, nesting_depth, parse_job
from pavi.domain.url_policy import UrlPolicy
from pavi.local.serve import proxy_event
from pavi.local.stack import EmulatedStack

PAVI = str(Path(sys.executable).with_name("pavi"))
CASES = corpus()


def test_the_corpus_is_large_and_its_names_unique() -> None:
    assert len(CASES) >= 50
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.is_json and len(c.body) <= 1 << 20], ids=lambda c: c.name)
def test_the_validator_refuses_each_case(case: Case) -> None:
    """Every JSON case the API's body-size limit lets through."""
    payload = json.loads(case.body)
    if case.status == 400:
        assert nesting_depth(payload) > MAX_DEPTH
    with pytest.raises(RequestValidationError) as raised:
        job = parse_job(payload, max_entries=MAX_ENTRIES)
        problems = url_problems(job, UrlPolicy.from_env())
        if problems:
            raise RequestValidationError(problems)
    assert isinstance(raised.value, EntryLimitError | JobSizeError) == (case.status == 413)
    assert case.names in str(raised.value), str(raised.value)


def test_the_entry_count_is_checked_before_any_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed (issue 27, item 6): refusing 8,500 entries for their count validates
    none of them; validating them takes one validation each."""
    from pavi.domain import request

    junk = [{"unique_entry_id": f"e{i}", "exon_seq_regions": [{"start": "x"}]} for i in range(8_500)]
    validated = []
    validate = request.Entry.model_validate
    monkeypatch.setattr(request.Entry, "model_validate", lambda raw: validated.append(1) or validate(raw))
    with pytest.raises(EntryLimitError, match="8500 entries: at most 500"):
        parse_job(junk, max_entries=500)
    assert validated == []
    with pytest.raises(RequestValidationError, match="exon_seq_regions"):
        parse_job(junk)
    assert len(validated) == 8_500


def answer_names(status: int, body: bytes, case: Case) -> None:
    assert status == case.status, (case.name, status, body[:300])
    data = json.loads(body)
    assert case.names in json.dumps(data, ensure_ascii=False), (case.name, data)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    limits = {"ApiMaxEntries": str(MAX_ENTRIES)}
    with EmulatedStack(log_dir=tmp_path_factory.mktemp("logs"), parameters=limits) as local:
        yield local


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_api_handler_answers_each_case(stack: EmulatedStack, case: Case) -> None:
    answer = stack.invoke("ApiFunction", proxy_event("POST", "/api/pipeline-job/", case.body, {}))
    answer_names(int(answer["statusCode"]), str(answer["body"]).encode(), case)


@pytest.fixture(scope="module")
def server(stack: EmulatedStack) -> Iterator[Served]:
    """``pavi serve`` in its own process (it runs its own stack; this module's is closed first)."""
    stack.__exit__(None, None, None)
    with pavi_serve(args=("--parameter-overrides", f"ApiMaxEntries={MAX_ENTRIES}")) as running:
        yield running


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pavi_serve_answers_each_case(server: Served, case: Case) -> None:
    status, body, _ = server.request("/api/pipeline-job/", "POST", raw=case.body)
    answer_names(status, body, case)
