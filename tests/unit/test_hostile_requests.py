"""10,000 generated payloads through the request validator: a Job or a RequestValidationError
listing problems, never anything else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payloads import json_values, mutated_entries

from pavi.domain.errors import RequestValidationError
from pavi.domain.request import Job, parse_job

payloads = (
    st.lists(mutated_entries(), max_size=4)
    | st.builds(lambda entries: {"seq_regions": entries}, st.lists(mutated_entries(), max_size=3))
    | json_values
)


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(payloads)
def test_the_validator_never_crashes(payload: Any) -> None:
    try:
        job = parse_job(payload)
    except RequestValidationError as error:
        assert error.problems and all(problem.message for problem in error.problems)
        return
    assert isinstance(job, Job) and job.seq_regions
