"""The open-loop schedule of latency points: its arithmetic on a fake clock, and a real
responder that stalls (coordinated omission handled)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gilbench.benchmarks import _registry, all_workloads
from gilbench.benchmarks._registry import workload
from gilbench.measure import run_facts
from gilbench.measure.latency import REQUEST_RATE_FACT, UTILISATION_FACT, LatencyMeasurement
from gilbench.measure.open_loop import (
    AIM_EVERY,
    AIM_MAX_STEP,
    MAX_RATE,
    Fixed,
    OpenLoop,
    Poisson,
    Timed,
    rate_for,
    reaimed_rate,
    wait_until,
    wait_until_async,
)
from gilbench.run.profiles import get_profile
from gilbench.vocabulary import Point


class FakeClock:
    """A clock that moves only when slept on, or by ``tick`` on every read."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick
        self.slept: list[float] = []

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


def _serve(schedule: OpenLoop, clock: FakeClock, services: list[float]) -> list[float]:
    """Run requests taking ``services`` seconds on the schedule; their latencies."""
    out = []
    for service in services:
        due = schedule.wait()
        clock.now += service
        out.append(schedule.done(due, clock()))
    return [t.latency for t in out]


def test_a_stall_counts_against_every_request_due_during_it_and_the_wait_never_does() -> None:
    clock = FakeClock()
    schedule = OpenLoop(Fixed(0.005), clock=clock, sleep=clock.sleep, spin_s=0.0)
    schedule.restart(at=0.0)
    # Request 0 (due at 5 ms) stalls for 100 ms; every other request takes 1 ms.
    latencies = _serve(schedule, clock, [0.100] + [0.001] * 39)
    assert latencies[0] == pytest.approx(0.100)
    # Request k is due at 5 (k + 1) ms and starts when its predecessor ends, at
    # 105 + (k - 1) ms: it waited 100 - 5 k + (k - 1) ms and took 1 ms.
    for k in range(1, 25):
        assert latencies[k] == pytest.approx(0.100 - 0.004 * k, abs=1e-9)
    assert latencies[10] == pytest.approx(0.060)
    # The queue drained (request 25 was due at 130 ms, when 24 ended at 129 ms): from then
    # on a request's latency is its 1 ms, however long it waited to be due.
    assert latencies[25:] == pytest.approx([0.001] * 15)
    # The responder slept before request 0 and after the queue drained, never while late.
    assert clock.slept == pytest.approx([0.005, 0.001] + [0.004] * 14)


def test_busy_time_and_gaps_give_the_utilisation_and_the_rate() -> None:
    clock = FakeClock()
    schedule = OpenLoop(Fixed(0.010), clock=clock, sleep=clock.sleep, spin_s=0.0)
    schedule.restart(at=0.0)
    timed = []
    for service in [0.002, 0.015, 0.002, 0.002]:
        due = schedule.wait()
        clock.now += service
        timed.append(schedule.done(due, clock()))
    # The 15 ms request delayed the next by 5 ms: that wait is latency, not busy time.
    assert [t.latency for t in timed] == pytest.approx([0.002, 0.015, 0.007, 0.002])
    assert [t.busy for t in timed] == pytest.approx([0.002, 0.015, 0.002, 0.002])
    assert sum(t.busy for t in timed) / sum(t.gap for t in timed) == pytest.approx(0.021 / 0.04)
    assert len(timed) / sum(t.gap for t in timed) == pytest.approx(100.0)


def test_paced_calibration_never_queues_a_request() -> None:
    clock = FakeClock()
    paced = OpenLoop(Fixed(0.001), paced=True, clock=clock, sleep=clock.sleep, spin_s=0.0)
    latencies = _serve(paced, clock, [0.050, 0.003, 0.020, 0.003])
    assert latencies == pytest.approx([0.050, 0.003, 0.020, 0.003])
    assert clock.slept == pytest.approx([0.001] * 4)


def test_wait_until_sleeps_short_of_the_due_time_then_reads_the_clock() -> None:
    clock = FakeClock(tick=0.00001)
    wait_until(1.0, clock, clock.sleep, spin_s=0.0002)
    assert len(clock.slept) == 1
    assert 0.0 < 1.0 - clock.slept[0] - 0.0002 < 0.0001  # slept until 200 µs before
    assert 1.0 <= clock.now < 1.0 + 0.0001  # then polled up to the due time
    before = clock.now
    wait_until(0.5, clock, clock.sleep)  # already due: returns at once
    assert clock.now == pytest.approx(before + 0.00001)


def test_the_async_wait_returns_at_its_due_time() -> None:
    due = time.perf_counter() + 0.01
    asyncio.run(wait_until_async(due))
    assert time.perf_counter() >= due


def test_rates_keep_the_responder_half_busy_up_to_a_cap() -> None:
    assert rate_for(0.010) == pytest.approx(50.0)
    assert rate_for(0.010, utilisation=0.25) == pytest.approx(25.0)
    assert rate_for(0.000_01) == MAX_RATE
    assert rate_for(0.0) == MAX_RATE
    assert rate_for(float("nan")) == MAX_RATE


def test_a_reaimed_rate_moves_towards_the_service_time_at_most_a_step_at_a_time() -> None:
    assert reaimed_rate(2.0, 0.1) == pytest.approx(4.0)  # 0.5 / 0.1 = 5, one step: 2 x 2
    assert reaimed_rate(4.0, 0.1) == pytest.approx(5.0)  # reached: 0.5 / 0.1
    assert reaimed_rate(20.0, 0.1) == pytest.approx(20.0 / AIM_MAX_STEP)  # down, a step
    assert reaimed_rate(400.0, 0.000_01) == MAX_RATE  # the cap holds
    assert reaimed_rate(3.0, 0.0) == 3.0  # nothing measured: unchanged
    assert reaimed_rate(3.0, float("nan")) == 3.0


def _timed(busy: float) -> Timed:
    return Timed(due=0.0, ended=busy, latency=busy, busy=busy, gap=0.1)


def test_a_calibrated_schedule_is_reaimed_at_the_timed_requests_service_time(
    stall_workload: str,
) -> None:
    """Calibration judged 0.25 s per request (2 a second); the timed requests take 0.05 s:
    every AIM_EVERY of them the rate moves a step towards 0.5 / 0.05 = 10 a second.  A
    schedule the measurement did not calibrate (a test's own) keeps its rate."""
    measurement = LatencyMeasurement(Point.latency(stall_workload, {"stall_ms": 100, "chunk": 1000},
                                                   "threads", 0, 1))  # fmt: skip
    try:
        arrivals = Poisson(2.0, random.Random(1))
        measurement.schedule, measurement.service_s = OpenLoop(arrivals), 0.25
        rates = []
        for _ in range(4):
            for _ in range(AIM_EVERY):
                measurement._aim(_timed(0.05))
            rates.append(arrivals.rate)
        assert rates == pytest.approx([4.0, 8.0, 10.0, 10.0])
        fixed = Fixed(0.5)
        measurement.schedule = OpenLoop(fixed)
        for _ in range(AIM_EVERY):
            measurement._aim(_timed(0.05))
        assert measurement.schedule.arrivals is fixed
    finally:
        measurement.close()


def test_poisson_gaps_are_exponential_with_the_rate_as_mean() -> None:
    arrivals = Poisson(200.0, random.Random(7))
    gaps = [arrivals.gap() for _ in range(20_000)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 200, rel=0.03)
    # Exponential: the standard deviation equals the mean; a fixed interval's is 0.
    assert statistics.stdev(gaps) == pytest.approx(1 / 200, rel=0.05)
    assert Fixed(0.005).rate == pytest.approx(200.0)


def test_every_latency_point_of_quick_and_default_gets_enough_requests() -> None:
    # A p90 needs 100 requests (10 beyond it), a p99 1,000: quick keeps half again a p90's.
    for name, least in (("quick", 150), ("default", 1000), ("rigorous", 1000)):
        profile = get_profile(name)
        assert profile.latency_values * profile.processes >= least


# --- a real responder that stalls once ------------------------------------------------


def _tiny(chunk: int, **_: Any) -> int:
    return sum(range(chunk))


@contextlib.contextmanager
def _stall_once(**_: Any) -> Iterator[dict[str, Any]]:
    yield {"state": {"calls": 0}}


def _answered(result: bool, **_: Any) -> bool:
    return result is True


def _stall(stall_ms: int, chunk: int, state: dict[str, int]) -> bool:
    """Answers at once, except the first request, which blocks for ``stall_ms``."""
    state["calls"] += 1
    if state["calls"] == 1:
        time.sleep(stall_ms / 1000)
    return True


@pytest.fixture
def stall_workload(monkeypatch: pytest.MonkeyPatch) -> str:
    """A responder that stalls once, registered for this test only."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(all_workloads()))
    name = "stalltest.stall"
    workload(name, kind="mixed", params={"stall_ms": [100], "chunk": [1000]}, tasks=1,
             check=_answered, setup=_stall_once, load=_tiny)(_stall)  # fmt: skip
    return name


def _latencies(name: str, load_in: str, schedule: OpenLoop, count: int) -> list[float]:
    measurement = LatencyMeasurement(Point.latency(name, {"stall_ms": 100, "chunk": 1000},
                                                   load_in, 0, 1))  # fmt: skip
    measurement.schedule = schedule
    try:
        return [measurement.time_requests(1) for _ in range(count)]
    finally:
        measurement.close()


@pytest.mark.parametrize("load_in", ["threads", "asyncio[inline]"])
def test_a_stalled_responder_raises_the_latency_of_every_request_due_during_the_stall(
    stall_workload: str, load_in: str
) -> None:
    # Requests due every 5 ms; the first blocks the responder for 100 ms.
    latencies = _latencies(stall_workload, load_in, OpenLoop(Fixed(0.005)), 30)
    # Request k was due 5 k ms after request 0 and could not start before request 0
    # ended, 100 ms or more after it was due: it waited at least 100 - 5 k ms.
    for k in range(20):
        assert latencies[k] >= 0.100 - 0.005 * k - 1e-6, (k, latencies[k])
    assert latencies[1] >= 0.095 - 1e-6
    assert latencies[10] >= 0.050 - 1e-6
    # A closed loop (each request sent when the previous answered) sees the stall once.
    closed = _latencies(stall_workload, load_in, OpenLoop(Fixed(0.0), paced=True), 30)
    slow_open = sum(latency >= 0.045 for latency in latencies)
    slow_closed = sum(latency >= 0.045 for latency in closed)
    assert closed[0] >= 0.100
    assert slow_open >= 11
    assert slow_closed < slow_open


def test_a_latency_point_records_its_rate_and_utilisation(stall_workload: str) -> None:
    run_facts._rates.clear()
    measurement = LatencyMeasurement(Point.latency(stall_workload,
                                                   {"stall_ms": 100, "chunk": 1000},
                                                   "threads", 0, 1))  # fmt: skip
    try:
        for _ in range(30):
            measurement.time_requests(1)
    finally:
        measurement.close()
    metadata: dict[str, Any] = {}
    run_facts.RunFactsHook().teardown(metadata)
    # Calibration measured the service time of a request that answers at once (the stall
    # fell into it: the first calibration request is a warm-up and is not used), so the
    # schedule runs at the cap, the responder busy a small share of the time.
    assert measurement.service_s is not None
    assert measurement.service_s > 0
    assert 0 < metadata[f"fact_{REQUEST_RATE_FACT}"] <= MAX_RATE * 2
    assert 0 <= metadata[f"fact_{UTILISATION_FACT}"] < 1  # 3 decimals: a no-op reads 0
