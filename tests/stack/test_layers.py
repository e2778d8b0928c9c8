"""Issue 27, item 5: each local function runs as Lambda runs it, with only its own code and its
layers importable. With BioLayer removed from the result collection (which writes the formats
with Biopython and the matrix with numpy), the demo completed locally where on AWS every job
would fail at its collection; now it fails here too, and says why."""

from __future__ import annotations

import json
from pathlib import Path

from support.demo import demo_entries
from support.project import copy_project

from pavi.local.stack import EmulatedStack


def without_bio_layer(root: Path) -> Path:
    """The project's deployable parts, but CollectResultsFunction's template entry lacks BioLayer."""
    copy = copy_project(root)
    template = (copy / "template.yaml").read_text()
    start = template.index("  CollectResultsFunction:")
    end = template.index("\n  ", template.index("        - !Ref BioLayer", start)) + 1
    section = template[start:end].replace("        - !Ref BioLayer\n", "", 1)
    (copy / "template.yaml").write_text(template[:start] + section + template[end:])
    assert template.count("- !Ref BioLayer") - 1 == (copy / "template.yaml").read_text().count("- !Ref BioLayer")
    return copy


def test_a_function_without_a_layer_it_needs_fails_the_local_run(tmp_path: Path) -> None:
    with EmulatedStack(root=without_bio_layer(tmp_path / "checkout"), log_dir=tmp_path / "logs") as stack:
        assert "Bio" not in (stack.functions["CollectResultsFunction"].importable or {"Bio"})
        job, arn = stack.start({"seq_regions": demo_entries()})
        description = stack.wait(arn, 180)
        assert description["status"] == "FAILED", description
        report = json.loads(stack.read(f"results/{job}/job-report.json"))
        assert "No module named 'Bio'" in report["error"]["cause"], report["error"]
