"""The example results set (results/example): a quick run on a 16-core machine, kept so
that docs and readers have a sweep past 2 cores.  It must stay readable, and what it
shows must hold together: pinning, shares, capacity and the physics guard."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gilbench.analysis.store import iter_result_files, load_results
from gilbench.analysis.tidy import tidy

EXAMPLE = Path(__file__).resolve().parent.parent / "results" / "example"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return tidy(load_results(EXAMPLE))


def test_the_example_set_is_not_read_as_a_machine_of_the_results_folder() -> None:
    # `gilbench report results` reads results/<machine>/*.json: the example set, one level
    # further down, never mixes into a user's own report.
    found = [path for _, path in iter_result_files(EXAMPLE.parent)]  # your runs, if any
    assert not [path for path in found if EXAMPLE in path.parents]
    assert [machine for machine, _ in iter_result_files(EXAMPLE)] == ["device16"]


def test_every_point_ran_where_it_says(frame: pd.DataFrame) -> None:
    # Topology-aware choice: CPU 0 (interrupts) only when every CPU is used.
    expected = {1: "1", 2: "1-2", 4: "1-4", 8: "1-8", 16: "0-15"}
    assert sorted(frame["cores"].unique()) == sorted(expected)
    assert (frame["cpu_list"] == frame["cores"].map(expected)).all()


def test_shares_sum_to_one_and_show_the_gil(frame: pd.DataFrame) -> None:
    shares = frame[["share_running", "share_runqueue", "share_blocked"]].sum(axis=1)
    assert (shares - 1).abs().max() < 0.05
    fib = frame[(frame["workload"] == "cpu.fib") & (frame["workers"] == frame["cores"])]
    fib = fib[fib["cores"].between(2, 8)]
    threads = fib[fib["backend"] == "threads"]
    # With the GIL, w pure-Python threads run one at a time: about 1 - 1/w blocked.
    assert ((threads["share_blocked"] - (1 - 1 / threads["workers"])).abs() < 0.1).all()
    processes = fib[fib["backend"] == "processes"]
    assert (processes["share_blocked"] < threads.set_index("cores").loc[
        processes["cores"], "share_blocked"].to_numpy()).all()  # fmt: skip


def test_capacity_never_exceeds_the_pinned_cpus(frame: pd.DataFrame) -> None:
    measured = frame.dropna(subset=["capacity"])
    assert (measured["capacity"] <= measured["cores"] + 1e-9).all()
    assert (measured["capacity"] > 0.5 * measured["cores"]).all()


def test_points_beyond_physics_are_flagged_not_hidden(frame: pd.DataFrame) -> None:
    pure = frame[(frame["kind"] == "cpu") & (frame["backend"] != "serial")]
    limit = pure[["workers", "cores"]].min(axis=1)
    beyond = pure[pure["speedup"] > limit * 1.1]
    assert not beyond.empty  # this machine's CPUs ran at unequal speeds (see README)
    assert beyond["suspect"].notna().all()
