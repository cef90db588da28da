"""The pinned CPUs' capacity: the arithmetic, the clamp, the measurement's shape, and the
warning that names points whose CPUs delivered less than their cores."""

from __future__ import annotations

import math
import os
import threading

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gilbench.analysis.noise import capacity_warnings, speed_warnings
from gilbench.measure import capacity


def test_capacity_is_cpus_times_alone_over_together() -> None:
    assert capacity.capacity_from(2, 0.004, 0.004) == 2.0  # both CPUs as fast as one alone
    assert capacity.capacity_from(2, 0.004, 0.005) == pytest.approx(1.6)
    assert capacity.capacity_from(4, 0.004, 0.008) == pytest.approx(2.0)  # half of them gone


def test_capacity_is_clamped_to_the_pinned_cpus() -> None:
    # Together faster than alone is a disturbed reference or timer noise, not 2.5 cores.
    assert capacity.capacity_from(2, 0.005, 0.004) == 2.0
    assert math.isnan(capacity.capacity_from(2, 0.0, 0.004))
    assert math.isnan(capacity.capacity_from(2, 0.004, -1.0))


@given(
    cpus=st.integers(1, 256),
    alone=st.floats(1e-6, 10.0),
    together=st.floats(1e-6, 10.0),
)
def test_capacity_is_never_above_the_cpus_or_below_zero(
    cpus: int, alone: float, together: float
) -> None:
    value = capacity.capacity_from(cpus, alone, together)
    assert 0 <= value <= cpus


def test_one_pinned_cpu_is_one_core_without_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "time_alone", lambda updates: pytest.fail("measured"))
    assert capacity.measure(cpus=1) == 1.0


def test_the_measurement_times_alone_together_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    alone = iter([0.004, 0.006])  # the machine slowed down during the measurement

    def fake_alone(updates: int) -> float:
        calls.append("alone")
        return next(alone)

    def fake_together(threads: int, updates: int) -> float:
        calls.append(f"together x{threads}")
        return 0.005

    monkeypatch.setattr(capacity, "time_alone", fake_alone)
    monkeypatch.setattr(capacity, "time_together", fake_together)
    assert capacity.measure(cpus=2, updates=1) == pytest.approx(2 * 0.005 / 0.005)
    assert calls == ["alone", "together x2", "alone"]


def test_a_real_measurement_is_within_the_pinned_cpus_and_leaves_no_thread() -> None:
    before = threading.active_count()
    cpus = capacity.pinned_cpus()
    assert cpus == len(os.sched_getaffinity(0))
    value = capacity.measure(updates=8)
    assert 0 < value <= cpus
    assert capacity.time_together(2, updates=4) > 0
    assert threading.active_count() == before


def _row(capacity_: float, cores: int) -> dict[str, object]:
    return {"workload": "cpu.fib", "backend": "threads", "start_method": "", "workers": 2,
            "cores": cores, "capacity": capacity_}  # fmt: skip


def test_points_whose_cpus_delivered_less_than_90_percent_are_named() -> None:
    frame = pd.DataFrame([_row(1.6, 2), _row(1.85, 2), _row(float("nan"), 2), _row(1.0, 1)])
    (line,) = capacity_warnings(frame)
    assert line.startswith("1 of 3 points ran on CPUs that delivered less than 90%")
    assert "cpu.fib threads workers=2 cores=2: the 2 pinned CPUs delivered 1.6 cores' worth" in line
    assert capacity_warnings(pd.DataFrame([_row(1.9, 2)])) == []
    assert capacity_warnings(pd.DataFrame([{"workload": "x"}])) == []  # an old file


def test_a_thread_that_starts_late_is_not_read_as_a_missing_core() -> None:
    """Two threads that each finish an update every ms, the second woken 4 ms late: in
    the window where both ran they deliver two CPUs' worth; timing from the release to
    the last end would have read 16 / 20 x 2 = 1.6."""
    begun = [0.0, 4.0]
    stamps = [[float(ms) for ms in range(1, 17)], [float(ms) for ms in range(5, 21)]]
    together = capacity.together_from(begun, stamps, updates=16)
    assert together == pytest.approx(16.0)
    assert capacity.capacity_from(2, 16.0, together) == pytest.approx(2.0)


def test_threads_sharing_one_cpu_read_as_one_core() -> None:
    """Two threads taking turns on one CPU: each update takes 2 ms of wall time."""
    begun = [0.0, 0.0]
    stamps = [[float(ms) for ms in range(2, 34, 2)], [float(ms) for ms in range(2, 34, 2)]]
    together = capacity.together_from(begun, stamps, updates=16)
    assert capacity.capacity_from(2, 16.0, together) == pytest.approx(1.0)


def test_threads_that_never_overlap_fall_back_to_the_whole_span() -> None:
    begun = [0.0, 16.0]
    stamps = [[float(ms) for ms in range(1, 17)], [float(ms) for ms in range(17, 33)]]
    together = capacity.together_from(begun, stamps, updates=16)
    assert capacity.capacity_from(2, 16.0, together) == pytest.approx(1.0)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_each_pinned_cpus_speed_is_probed_on_that_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe that runs twice as long on the last CPU (a vCPU at half speed): the
    speeds say so, and the thread's affinity is what it was."""
    before = os.sched_getaffinity(0)
    slow = max(before)
    monkeypatch.setattr(
        capacity, "python_probe",
        lambda loops=0: 0.002 if os.sched_getaffinity(0) == {slow} else 0.001,
    )  # fmt: skip
    speeds = capacity.cpu_speeds()
    assert len(speeds) == len(before)
    assert capacity.speed_ratio_from(speeds) == pytest.approx(2.0)
    assert os.sched_getaffinity(0) == before


def test_speed_ratio_needs_two_speeds_and_no_zero() -> None:
    assert capacity.speed_ratio_from([1.0, 1.25]) == pytest.approx(1.25)
    assert math.isnan(capacity.speed_ratio_from([3.0]))
    assert math.isnan(capacity.speed_ratio_from([3.0, 0.0]))


def test_a_real_reading_has_a_speed_ratio_of_at_least_one_and_moves_nothing() -> None:
    before = os.sched_getaffinity(0)
    reading = capacity.read(updates=8)
    assert 0 < reading.cores <= len(before)
    if len(before) > 1:
        assert reading.speed_ratio >= 1.0
    assert os.sched_getaffinity(0) == before


def test_a_reading_on_one_cpu_has_no_speed_ratio() -> None:
    assert math.isnan(capacity.read(cpus=1).speed_ratio)


def test_points_on_cpus_of_unequal_speed_are_named() -> None:
    rows = [
        {**_row(1.9, 2), "cpu_speed_ratio": 1.9},
        {**_row(1.95, 2), "cpu_speed_ratio": 1.03},
        {**_row(1.0, 1), "cpu_speed_ratio": float("nan")},
    ]
    (line,) = speed_warnings(pd.DataFrame(rows))
    assert line.startswith(
        "1 of 2 points ran on pinned CPUs of unequal speed (pure Python on the fastest up to "
        "1.90x as fast"
    )
    assert "cpu.fib threads workers=2 cores=2 (1.90x)" in line
    assert speed_warnings(pd.DataFrame([_row(1.9, 2)])) == []  # an old file
