"""Issue 29, item 2: the local Batch host gives a job's container the memory of its resource
requirements (the submission's override, else the job definition's) and kills it when it goes
over, reported as AWS Batch reports it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.demo import demo_entries

from pavi.aws.job_store import JobPaths
from pavi.local.container import OOM_REASON, resident_mib
from pavi.local.stack import EmulatedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with EmulatedStack(log_dir=tmp_path_factory.mktemp("memory") / "logs") as local:
        yield local


def ended(stack: EmulatedStack, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (job,) = stack.batch.describe([job_id])
        if job["status"] in {"SUCCEEDED", "FAILED"}:
            return job
        time.sleep(0.1)
    raise TimeoutError(job_id)


def test_a_job_sized_too_small_is_killed_as_aws_reports_it(stack: EmulatedStack) -> None:
    job_id, arn = stack.start({"seq_regions": demo_entries()})
    assert stack.wait(arn, 180)["status"] == "SUCCEEDED"
    definition = stack.job_definitions["AlignmentJobDefinition"]
    assert definition.memory == 4096  # the template's AlignmentMemory, the definition's own
    paths = JobPaths("s3://pavi-local", job_id)  # the job's own files: the alignment role writes only those
    parameters = {
        "input": paths.alignment_input,
        "out": paths.alignment_output,
        "error": paths.alignment_error,
        "tree": paths.guide_tree,
        "run": paths.alignment_run,
    }
    aligned = stack.read(f"results/{job_id}/alignment-output.aln")
    small = stack.batch.submit(
        {
            "jobDefinition": definition.arn,
            "jobName": f"pavi-align-{uuid.uuid4()}",
            "parameters": parameters,
            "containerOverrides": {"resourceRequirements": [{"type": "MEMORY", "value": "8"}]},  # 8 MiB
        }
    )
    job = ended(stack, small["jobId"])
    assert job["status"] == "FAILED"
    last = job["attempts"][-1]["container"]
    assert (last["exitCode"], last["reason"]) == (137, OOM_REASON)
    assert OOM_REASON == "OutOfMemoryError: Container killed due to memory usage"
    assert stack.read(f"results/{job_id}/alignment-output.aln") == aligned  # the killed attempt wrote nothing
    sized = stack.batch.submit(
        {"jobDefinition": definition.arn, "jobName": f"pavi-align-{uuid.uuid4()}", "parameters": parameters}
    )
    done = ended(stack, sized["jobId"])
    assert done["status"] == "SUCCEEDED", Path(done["attempts"][-1]["container"]["logStreamName"]).read_text()
    assert stack.read(f"results/{job_id}/alignment-output.aln") == aligned


def test_resident_memory_counts_the_whole_process_tree() -> None:
    import subprocess
    import sys

    code = "import subprocess, sys; b = bytearray(64 * 2**20); subprocess.run([sys.executable, '-c', "
    code += "'import time; b = bytearray(64 * 2**20); time.sleep(5)'])"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline, seen = time.monotonic() + 20, 0.0
        while time.monotonic() < deadline and seen < 128:
            seen = max(seen, resident_mib(process.pid))
            time.sleep(0.1)
        assert seen >= 128, seen  # the parent's 64 MiB and its child's
    finally:
        process.kill()
        process.wait()


def test_the_memory_of_a_definition_comes_from_the_template() -> None:
    from pavi.local.container import memory_of

    assert memory_of([{"Type": "VCPU", "Value": "1"}, {"Type": "MEMORY", "Value": "4096"}]) == 4096
    assert memory_of([{"type": "MEMORY", "value": "512"}]) == 512
    assert memory_of(None) is None
