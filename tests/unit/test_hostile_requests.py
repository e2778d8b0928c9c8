"""10,000 generated payloads through the request validator: a Job or a RequestValidationError
listing problems, never anything else. Four parts of 2,500, each from its own seed and in its
own xdist group, so that the suite's workers share them (generating a payload costs ten times
what validating it does)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from support.payloads import json_values, mutated_entries

from pavi.domain.errors import RequestValidationError
from pavi.domain.request import Job, parse_job

payloads = (
    st.lists(mutated_entries(), max_size=4)
    | st.builds(lambda entries: {"seq_regions": entries}, st.lists(mutated_entries(), max_size=3))
    | json_values
)


PARTS = 4


@pytest.mark.parametrize(
    "part", [pytest.param(p, marks=pytest.mark.xdist_group(f"validator-{p}")) for p in range(PARTS)]
)
def test_the_validator_never_crashes(part: int) -> None:
    @seed(part)
    @settings(max_examples=10_000 // PARTS, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(payloads)
    def check(payload: Any) -> None:
        try:
            job = parse_job(payload)
        except RequestValidationError as error:
            assert error.problems and all(problem.message for problem in error.problems)
            return
        assert isinstance(job, Job) and job.seq_regions

    check()
