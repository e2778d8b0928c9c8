"""The retrieval array job's shares (:mod:`pavi.aws.lanes`) and its child, ``pavi retrieve-share``,
run as the job definition runs it (a process, its index in ``AWS_BATCH_JOB_ARRAY_INDEX``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pavi.aws.lanes import plan_array, share

PAVI = str(Path(sys.executable).parent / "pavi")


@pytest.mark.parametrize(
    ("entries", "per_child", "children", "each"),
    [
        (1, 100, 2, 1),  # an array has at least 2 children: the second has nothing to do
        (2, 100, 2, 1),
        (10, 100, 2, 5),
        (150, 100, 2, 75),  # spread evenly, not 100 + 50
        (1000, 100, 10, 100),
        (1001, 100, 11, 91),
        (10_000, 100, 100, 100),
        (2_000_000, 100, 10_000, 200),  # at most 10,000 children: each takes more
    ],
)
def test_a_plan_covers_every_entry_once_within_batchs_array_limits(
    entries: int, per_child: int, children: int, each: int
) -> None:
    plan = plan_array(entries, per_child)
    assert (plan.children, plan.per_child) == (children, each)
    assert 2 <= plan.children <= 10_000
    if entries <= 10_000:
        covered = [position for index in range(plan.children) for position in plan.share(index)]
        assert covered == list(range(entries))
    # what a child sees (the manifest's count, the per_child parameter) gives it the same share
    assert all(share(index, plan.per_child, entries) == plan.share(index) for index in range(min(plan.children, 50)))
    assert plan.state() == {"children": children, "per_child": str(each)}


def test_an_index_outside_batchs_arrays_is_refused() -> None:
    assert plan_array(3).share(2) == range(3, 3)  # past the last entry: nothing to do
    for index in (-1, 10_000):
        with pytest.raises(ValueError, match=rf"array index {index} is outside 0\.\.9999"):
            plan_array(3).share(index)


def write_job(folder: Path, entries: list[dict[str, Any]], per_share: int) -> Path:
    """A job's manifest and entries, as the validation writes them: one share a child."""
    (folder / "entries").mkdir(parents=True)
    for index, start in enumerate(range(0, len(entries), per_share)):
        (folder / "entries" / f"share-{index:05d}.json").write_text(json.dumps(entries[start : start + per_share]))
    manifest = folder / "manifest.json"
    ids = [e["unique_entry_id"] for e in entries]
    document = {"job_id": "j", "entries": f"{folder}/entries/", "entry_ids": ids, "per_share": per_share}
    manifest.write_text(json.dumps(document))
    return manifest


def child(manifest: Path, out: Path, per_child: int, index: int | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_BATCH_JOB_ARRAY_INDEX"}
    if index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
    command = [PAVI, "retrieve-share", str(manifest), "--out", str(out), "--per-child", str(per_child), "-q"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_each_child_retrieves_its_share_and_only_it(
    tmp_path: Path, conformance: Path, genbank_payload: list[dict[str, Any]]
) -> None:
    genome = conformance / "genbank" / "genome.fa.gz"
    entries = [{**e, "fasta_file_url": str(genome)} for e in genbank_payload[:5]]
    manifest = write_job(tmp_path / "job", entries, 2)
    out = tmp_path / "sequences"
    plan = plan_array(len(entries), 2)  # 3 children: 2, 2 and 1 entries
    assert plan.children == 3
    done = child(manifest, out, plan.per_child, 1)
    assert done.returncode == 0, done.stderr
    assert "child 1: entries 3-4 of 5" in done.stderr
    ids = [e["unique_entry_id"] for e in entries]
    assert [p.name for p in out.iterdir()] == [f"{ids[2]}.share.json"]  # one file: the share's
    assert sorted(seqinfo_names(out)) == sorted(f"{i}-seqinfo.json" for i in ids[2:4])
    for index in (0, 2):
        assert child(manifest, out, plan.per_child, index).returncode == 0
    assert sorted(seqinfo_names(out)) == sorted(f"{i}-seqinfo.json" for i in ids)
    # the files a share holds are those pavi retrieve writes for the same entries, byte for byte
    single = tmp_path / "single"
    (tmp_path / "payload.json").write_text(json.dumps(entries))
    done = subprocess.run([PAVI, "retrieve", str(tmp_path / "payload.json"), "--out", str(single), "-q"], timeout=120)
    assert done.returncode == 0
    held = {name: text for share in out.glob("*.share.json") for name, text in json.loads(share.read_text()).items()}
    for path in single.iterdir():
        if not path.name.endswith(".genomes.json"):
            assert held[path.name] == path.read_text(), path.name


def seqinfo_names(out: Path) -> list[str]:
    from pavi.domain.retrieval import unpack_share

    return [n for share in out.glob("*.share.json") for n in unpack_share(share.read_text()) if "-seqinfo" in n]


def test_a_child_past_the_last_entry_has_nothing_to_do_and_a_wrong_index_is_an_error(
    tmp_path: Path, conformance: Path, genbank_payload: list[dict[str, Any]]
) -> None:
    entries = [{**genbank_payload[0], "fasta_file_url": str(conformance / "genbank" / "genome.fa.gz")}]
    manifest = write_job(tmp_path / "job", entries, 1)
    out = tmp_path / "sequences"
    empty = child(manifest, out, 1, 1)  # one entry: the array's second child
    assert empty.returncode == 0 and "child 1: no entries to retrieve" in empty.stderr
    assert not out.exists()
    wrong = child(manifest, out, 1, -1)
    assert wrong.returncode == 2 and "array index -1 is outside 0..9999" in wrong.stderr
    unread = child(tmp_path / "absent.json", out, 1, 0)
    assert unread.returncode == 1 and "cannot read the manifest" in unread.stderr
    first = child(manifest, out, 1, None)  # not an array's child: index 0
    assert first.returncode == 0 and len(seqinfo_names(out)) == 1


def test_any_range_of_entries_reads_the_shares_that_hold_it(tmp_path: Path) -> None:
    """A child reads one share; any other range (a child given another --per-child, the Lambda
    lane's whole job) reads the shares covering it and gets exactly its entries, in order."""
    from pavi.aws.lanes import read_manifest

    entries = [{"unique_entry_id": f"e{n}"} for n in range(10)]
    manifest = read_manifest(str(write_job(tmp_path / "job", entries, 3)))
    for positions in (range(0, 10), range(3, 6), range(2, 8), range(9, 10), range(4, 4)):
        assert manifest.payloads(positions) == entries[positions.start : positions.stop], positions
    assert manifest.payloads() == entries


@pytest.mark.parametrize("name", ["../x-protein.fa", "a/b-seqinfo.json", ".hidden", "c\\d"])
def test_a_share_holds_plain_file_names_only(name: str) -> None:
    from pavi.domain.retrieval import unpack_share

    with pytest.raises(ValueError, match="not a plain file name"):
        unpack_share(json.dumps({name: "x"}))
    with pytest.raises(ValueError, match="a JSON object of file name to text"):
        unpack_share(json.dumps({"a-protein.fa": 1}))
