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

    def fake_together(threads: int, updates: int, speeds: list[float] | None = None) -> float:
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


def test_each_cpus_rate_is_read_in_the_window_where_all_ran() -> None:
    """One thread finishes an update every ms, the other every 2 ms (a CPU at half
    speed), the second starting 4 ms late: in the window 4..16 ms, one update a ms and
    one every 2 ms, read from each thread's own first and last update there."""
    begun = [0.0, 4.0]
    stamps = [[float(ms) for ms in range(1, 17)], [float(ms) for ms in range(6, 37, 2)]]
    rates = capacity.rates_from(begun, stamps)
    assert rates == pytest.approx([1.0, 0.5])
    assert capacity.speed_ratio_from(rates) == pytest.approx(2.0)
    # Too short a window to compare by, one CPU, a CPU that did nothing: no ratio.
    assert capacity.rates_from([0.0, 15.0], stamps) == []
    assert math.isnan(capacity.speed_ratio_from([3.0]))
    assert math.isnan(capacity.speed_ratio_from([3.0, 0.0]))


def test_a_reading_carries_the_speed_ratio_of_its_together_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake_together(threads: int, updates: int, speeds: list[float] | None = None) -> float:
        assert speeds is not None
        speeds.extend([100.0, 80.0])
        return 0.005

    monkeypatch.setattr(capacity, "time_alone", lambda updates: 0.005)
    monkeypatch.setattr(capacity, "time_together", fake_together)
    reading = capacity.read(cpus=2, updates=1)
    assert reading.cores == pytest.approx(2.0)
    assert reading.speed_ratio == pytest.approx(1.25)
    assert math.isnan(capacity.read(cpus=1).speed_ratio)


def test_points_on_cpus_of_unequal_speed_are_named() -> None:
    rows = [
        {**_row(1.9, 2), "cpu_speed_ratio": 1.9},
        {**_row(1.95, 2), "cpu_speed_ratio": 1.03},
        {**_row(1.0, 1), "cpu_speed_ratio": float("nan")},
    ]
    (line,) = speed_warnings(pd.DataFrame(rows))
    assert line.startswith(
        "1 of 2 points ran on pinned CPUs of unequal speed (the fastest up to 1.90x"
    )
    assert "cpu.fib threads workers=2 cores=2 (1.90x)" in line
    assert speed_warnings(pd.DataFrame([_row(1.9, 2)])) == []  # an old file
