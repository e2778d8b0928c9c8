"""The cost model counts what a real execution does, and a 10-entry job stays under a cent."""

from __future__ import annotations

from pathlib import Path

from support.benchmarks import load_benchmark
from support.demo import demo_entries

from pavi.local.stack import EmulatedStack

cost_model = load_benchmark("cost_model")


def test_the_transitions_counted_from_the_asl_are_the_states_a_job_enters(tmp_path: Path) -> None:
    entries = demo_entries()
    with EmulatedStack(log_dir=tmp_path, in_process_batch=True) as stack:
        for lane in ("lambda", "batch"):
            _, arn = stack.start({"seq_regions": entries, "lane": lane})
            assert stack.wait(arn, 120)["status"] == "SUCCEEDED"
            entered = [e for e in stack.history(arn) if e["type"].endswith("StateEntered")]
            model = cost_model.cost(len(entries), cost_model.MEASURED, lane=lane)
            assert model["state_transitions"] == len(entered) == 9  # the same for any number of entries


def test_a_ten_entry_job_costs_under_a_cent_in_each_lane_and_the_lambda_lane_less() -> None:
    for lane in ("lambda", "batch"):
        for spot in (True, False):
            ten = cost_model.cost(10, cost_model.MEASURED, spot, lane)
            assert 0 < ten["usd_total"] < 0.01, ten
    lambda_lane, batch_lane = (cost_model.cost(10, cost_model.MEASURED, True, lane) for lane in ("lambda", "batch"))
    assert lambda_lane["fargate_tasks"] == 0 and batch_lane["fargate_tasks"] == 3  # 2 children and the alignment
    assert lambda_lane["usd_total"] < batch_lane["usd_total"]
    assert (
        cost_model.cost(100, cost_model.MEASURED)["usd_total"] > cost_model.cost(10, cost_model.MEASURED)["usd_total"]
    )


def test_the_alignment_sized_to_the_job_changes_what_completes_and_its_price() -> None:
    """Issue 29: before, a titin job was refused and 10,000 proteins of 1,000 residues timed out in
    Clustal Omega; after, FAMSA aligns both, each in a task the model chose. The alignment's share
    of the price is the task's vCPUs and memory times its time, computed here from the list prices."""
    sizing = load_benchmark("alignment_sizing")
    rows = {name: sizing.outcome(*figures, before=True) for name, *figures in sizing.SCENARIOS}
    after = {name: sizing.outcome(*figures, before=False) for name, *figures in sizing.SCENARIOS}
    titin, many = sizing.SCENARIOS[-1][0], "10,000 entries"
    assert rows[titin]["outcome"].startswith("refused: proteins were capped at 8,000")
    assert rows[many]["outcome"].startswith("timed out: clustalo needs about")
    assert after[titin]["outcome"] == after[many]["outcome"] == "completes"
    assert after[titin]["aligner"] == after[many]["aligner"] == "famsa"
    measured = "10,000 entries (33 residues: the job measured)"
    assert after[measured]["alignment_seconds"] * 20 < rows[measured]["alignment_seconds"]
    seconds, vcpus, gb = 300.0, 2.0, 8.0
    with_task = cost_model.cost(1000, cost_model.MEASURED, False, "batch", alignment=(seconds, vcpus, gb))
    without = cost_model.cost(1000, cost_model.MEASURED, False, "batch", alignment=(0.0, 0.0, 0.0))
    by_hand = seconds / 3600 * (vcpus * 0.04048 + gb * 0.004445)
    assert abs(with_task["usd"]["batch_fargate"] - without["usd"]["batch_fargate"] - by_hand) < 1e-5
