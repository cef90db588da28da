"""The analysis math: throughput, speedup, efficiency, and which serial point is the base."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import with_units
from hypothesis import given
from hypothesis import strategies as st

from gilbench.analysis.tidy import add_derived


def _row(backend: str, workers: int, median: float, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "machine": "m",
        "interpreter": "cpython3.11",
        "gil_enabled": True,
        "workload": "cpu.fib",
        "params": "n=20",
        "tasks": 32,
        "cores": 2,
        "backend": backend,
        "workers": workers,
        "median_s": median,
    }
    row.update(extra)
    return row


def test_speedup_efficiency_and_throughput() -> None:
    frame = add_derived(
        pd.DataFrame(
            [
                _row("serial", 1, 2.0),
                _row("threads", 2, 2.0),
                _row("processes", 2, 1.0),
                _row("threads", 16, 0.5),
            ]
        )
    )
    by = {(r.backend, r.workers): r for r in frame.itertuples()}
    assert by[("serial", 1)].speedup == 1.0
    assert by[("processes", 2)].speedup == 2.0
    assert by[("processes", 2)].efficiency == 1.0
    assert by[("threads", 2)].efficiency == 0.5
    # efficiency divides by min(workers, cores): 16 threads on 2 cores can be at most 2x
    assert by[("threads", 16)].speedup == 4.0
    assert by[("threads", 16)].efficiency == 2.0
    assert by[("processes", 2)].throughput == 32.0


def test_speedup_uses_the_serial_point_of_the_same_group_only() -> None:
    frame = add_derived(
        pd.DataFrame(
            [
                _row("serial", 1, 2.0),
                _row("serial", 1, 4.0, machine="other"),
                _row("threads", 2, 1.0, machine="other"),
                _row("threads", 2, 1.0, interpreter="cpython3.14t"),  # no serial point: no speedup
            ]
        )
    )
    other = frame[(frame.machine == "other") & (frame.backend == "threads")]
    assert other.speedup.iloc[0] == 4.0
    orphan = frame[frame.interpreter == "cpython3.14t"]
    assert math.isnan(orphan.speedup.iloc[0])


@given(
    serial=st.floats(min_value=1e-4, max_value=1e3),
    factor=st.floats(min_value=0.01, max_value=100),
    workers=st.integers(min_value=1, max_value=256),
    cores=st.integers(min_value=1, max_value=64),
)
def test_speedup_is_the_time_ratio_for_any_positive_times(
    serial: float, factor: float, workers: int, cores: int
) -> None:
    frame = add_derived(
        pd.DataFrame(
            [
                _row("serial", 1, serial, cores=cores),
                _row("threads", workers, serial / factor, cores=cores),
            ]
        )
    )
    threads = frame[frame.backend == "threads"].iloc[0]
    assert threads.speedup == pytest.approx(factor, rel=1e-9)
    assert threads.efficiency == pytest.approx(factor / min(workers, cores), rel=1e-9)
    assert threads.throughput == pytest.approx(32 / (serial / factor), rel=1e-9)


def test_speedup_pairs_rounds_so_drift_between_rounds_cancels() -> None:
    # The machine ran twice as fast in round 2; serial and threads both saw it.
    frame = add_derived(*with_units([
        _row("serial", 1, 1.5, _round_medians={1: 2.0, 2: 1.0}),
        _row("threads", 2, 0.75, _round_medians={1: 1.0, 2: 0.5}),
        _row("processes", 2, 1.0, _round_medians={1: 2.0}),  # only round 1 measured
    ]))  # fmt: skip
    by = {r.backend: r for r in frame.itertuples()}
    assert by["threads"].speedup == pytest.approx(2.0)
    assert by["processes"].speedup == pytest.approx(1.0)


def test_paired_speedup_without_common_rounds_is_unknown() -> None:
    from gilbench.analysis.tidy import paired_speedup

    assert math.isnan(paired_speedup({1: 1.0}, {2: 1.0}))
    assert paired_speedup({1: 3.0, 2: 2.0, 3: 1.0}, {1: 1.0, 2: 1.0, 3: 1.0}) == 2.0


def test_parameters_keep_their_types_in_columns_of_their_own(tmp_path: Path) -> None:
    from helpers import make_bench, write_suite

    from gilbench.analysis.store import load_results
    from gilbench.analysis.tidy import COLUMNS, tidy_report

    write_suite(tmp_path / "box" / "run.json", [
        make_bench(params="n=20"),
        make_bench("startup.process_pool_fork", params="method=fork,workers=2", kind="startup"),
        make_bench("mixed.switch_interval", "threads", kind="mixed", load_in="threads",
                   load_workers=2, params="chunk=20000,interval_ms=0.5,size=64"),
        make_bench("mixed.echo", "threads", kind="mixed", load_in="threads",
                   params="size=64", name="no load_workers"),
    ])  # fmt: skip
    tidied = tidy_report(load_results(tmp_path))
    frame = tidied.frame.set_index("workload")
    ((_, reason),) = tidied.skipped
    assert "without load_workers" in reason
    params = ["param_chunk", "param_interval_ms", "param_method", "param_n", "param_size",
              "param_workers"]  # fmt: skip
    assert list(tidied.frame.columns) == [*COLUMNS, *params]  # after the facts (none here)
    assert frame.loc["cpu.fib", "param_n"] == 20
    assert frame.loc["mixed.switch_interval", "param_interval_ms"] == 0.5
    assert frame.loc["startup.process_pool_fork", "param_method"] == "fork"
    assert math.isnan(frame.loc["cpu.fib", "param_interval_ms"])
    assert pd.isna(frame.loc["cpu.fib", "param_method"])
    assert frame.loc["mixed.switch_interval", "params"] == "chunk=20000,interval_ms=0.5,size=64"
    # Latency rows: their load in columns of its own, workers 1; throughput rows: none.
    assert frame.loc["mixed.switch_interval", ["workers", "load_in", "load_workers"]].tolist() == [
        1, "threads", 2
    ]  # fmt: skip
    assert frame.loc["cpu.fib", "load_in"] == ""
    assert pd.isna(frame.loc["cpu.fib", "load_workers"])
