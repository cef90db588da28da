"""The pinned CPUs' capacity for pure Python (gilbench.measure.python_capacity) and the
capacity each kind of point is held against (gilbench.analysis.paired)."""

from __future__ import annotations

import math
import os
import threading

import pandas as pd
import psutil
import pytest

from gilbench.analysis.paired import delivered_capacity
from gilbench.measure.python_capacity import PythonHelpers, capacity_from

two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs this process may run on",
)


def test_capacity_is_the_combined_rate_over_an_average_cpu_alone() -> None:
    # Eight chunks alone: 2 s on one CPU, 1 s on the other (4 and 8 chunks/s, mean 6).
    assert capacity_from([2.0, 1.0], together_rate=9.0, chunks=8) == pytest.approx(1.5)
    # Both at their own speed at once: 12 chunks/s, two average CPUs' worth.
    assert capacity_from([2.0, 1.0], together_rate=12.0, chunks=8) == pytest.approx(2.0)
    # Never above the CPUs (a disturbed reference), never below 0; NaN without a rate.
    assert capacity_from([2.0, 1.0], together_rate=20.0, chunks=8) == 2.0
    assert math.isnan(capacity_from([2.0, 1.0], together_rate=math.nan, chunks=8))
    assert math.isnan(capacity_from([0.0, 1.0], together_rate=8.0, chunks=8))


@two_cpus
def test_helpers_read_the_pinned_cpus_and_leave_nothing_behind() -> None:
    cpus = sorted(os.sched_getaffinity(0))[:2]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    helpers = PythonHelpers.start(cpus)
    try:
        assert helpers
        assert len(helpers.pids) == 2
        assert os.getpid() not in helpers.pids
        for pid, cpu in zip(helpers.pids, cpus, strict=True):
            # Each sits on its own CPU (it pins itself first thing; give it a moment).
            reading = helpers.read()
            assert reading is not None
            assert psutil.Process(pid).cpu_affinity() == [cpu]
        assert 0 < reading.cores <= 2
        assert reading.speed_ratio >= 1
    finally:
        helpers.close()
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before
    assert helpers.read() is None  # closed: nothing to read


def test_no_helpers_on_one_cpu_or_while_a_thread_runs() -> None:
    assert not PythonHelpers.start([0])
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        # Forking now could copy a lock the other thread holds.
        assert not PythonHelpers.start([0, 1])
    finally:
        stop.set()
        thread.join()


def test_pure_python_points_are_held_against_the_pure_python_capacity() -> None:
    frame = pd.DataFrame({
        "kind": ["cpu", "cpu", "released"],
        "capacity": [1.9, 1.9, 1.9],
        "capacity_python": [1.2, math.nan, 1.2],
    })  # fmt: skip
    # Measured: the pure-Python one; an older file without it: the hashing one; work
    # that releases the GIL: the hashing one.
    assert delivered_capacity(frame).tolist() == [1.2, 1.9, 1.9]
    assert delivered_capacity(frame.drop(columns="capacity_python")).tolist() == [1.9] * 3


def test_many_cpus_are_timed_alone_a_few_at_a_time_and_run_longer_together() -> None:
    """On 128 CPUs a reading times 8 of them alone, the next 8 the next time, and every
    helper runs more chunks at once (handing out 128 requests takes a while)."""
    from gilbench.measure.python_capacity import ALONE_SAMPLE, CHUNKS, together_chunks

    helpers = PythonHelpers(list(range(128)))
    helpers._conns = [None] * 128  # type: ignore[list-item]  # stand-ins: order only
    first, second = helpers.alone_order(), helpers.alone_order()
    assert first == list(range(ALONE_SAMPLE))
    assert second == list(range(ALONE_SAMPLE, 2 * ALONE_SAMPLE))
    few = PythonHelpers([0, 1])
    few._conns = [None, None]  # type: ignore[list-item]
    assert few.alone_order() == [0, 1] == few.alone_order()
    assert together_chunks(2) == CHUNKS < together_chunks(128)
    # The clamp is all the CPUs, not the sample's.
    assert capacity_from([1.0] * 8, together_rate=8 * 100.0, chunks=8, cpus=128) == 100.0
