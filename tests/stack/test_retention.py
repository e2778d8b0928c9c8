"""`pavi serve` keeps its newest ended jobs only, so that its memory stays bounded (issue 14):
the others' objects, executions and Batch jobs are gone, and moto lets go of what it held."""

from __future__ import annotations

import json
from pathlib import Path

from moto.stepfunctions.parser.utils import TMP_THREADS
from support.demo import demo_entries

from pavi.local.retention import forget_old_jobs
from pavi.local.serve import proxy_event
from pavi.local.stack import LOCAL_BUCKET, EmulatedStack


def test_ended_jobs_past_the_newest_kept_are_forgotten(tmp_path: Path) -> None:
    with EmulatedStack(log_dir=tmp_path / "logs", in_process_batch=True) as stack:
        jobs = []
        for _ in range(5):
            job_id, arn = stack.start(demo_entries()[:1])
            assert stack.wait(arn, 120)["status"] == "SUCCEEDED"
            jobs.append(job_id)
        forgotten = forget_old_jobs(stack, keep=2)
        assert sorted(forgotten) == sorted(jobs[:3])
        for job_id in jobs:
            keys = stack.keys(f"results/{job_id}/") + stack.keys(f"work/{job_id}/")
            assert bool(keys) == (job_id in jobs[3:]), job_id
            answer = stack.invoke("ApiFunction", proxy_event("GET", f"/api/pipeline-job/{job_id}"))
            assert answer["statusCode"] == (404 if job_id in forgotten else 200)
        assert not any(job_id in job.name for job in stack.batch.jobs.values() for job_id in forgotten)
        assert all(thread.is_alive() for thread in TMP_THREADS)
        assert json.loads(stack.read(f"results/{jobs[-1]}/job-report.json"))["status"] == "completed"
        assert forget_old_jobs(stack, keep=2) == []  # nothing more to forget
        assert stack.s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix="results/")["KeyCount"] > 0
