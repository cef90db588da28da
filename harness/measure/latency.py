"""A latency point in the pyperf worker: requests on an open-loop schedule, one per timed
value, a CPU load beside it.

The point's workload is a responder (``kind="mixed"``); its ``load_in`` says where the
load runs and its ``load_workers`` is K, the number of CPU workers (see
gilbench.measure.load).  Setup and starting the load happen before the first timed value.

Requests are due at Poisson arrival times (gilbench.measure.open_loop), and each value is
one request's latency *from the time it was due*: a stall, a wait for the GIL on waking or
a request queued behind a slow one all count.  The rate is calibrated in each process
before its first value, once the load runs: :data:`CALIBRATION_REQUESTS` requests, each
due a pause after the previous one answered (so none queues), give the mean service time;
the rate keeps the responder busy ``TARGET_UTILISATION`` of the time, at most ``MAX_RATE``
requests a second.  Every ``AIM_EVERY`` timed requests the rate is aimed again, at the
mean service time of the timed requests so far (a few paced requests misjudge it: see
gilbench.measure.open_loop).  Each run records the rate it offered
(``fact_latency_rate_per_s``) and the utilisation it achieved
(``fact_latency_utilisation``: the responder's busy time over the time its requests
spanned).  Every answer is checked outside the timed region.
"""

from __future__ import annotations

import collections
import contextlib
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from gilbench.benchmarks import get_workload
from gilbench.measure import run_facts
from gilbench.measure.batch import BatchCheckError, enter_setup
from gilbench.measure.interpreter import gil_enabled_now
from gilbench.measure.load import AsyncioLoad, Load, make_load
from gilbench.measure.open_loop import (
    AIM_EVERY,
    Fixed,
    OpenLoop,
    Poisson,
    Timed,
    rate_for,
    reaimed_rate,
)
from gilbench.vocabulary import Point

#: Fact: chunks of CPU work the load completed per second while requests were made.
LOAD_RATE_FACT = "load_chunks_per_s"
#: Fact: requests per second the open-loop schedule offered (over the timed requests).
REQUEST_RATE_FACT = "latency_rate_per_s"
#: Fact: the share of the timed requests' span the responder was busy with one.
UTILISATION_FACT = "latency_utilisation"
#: One timed request: its timing, result, and the load's chunks over how many seconds.
Sample = tuple[Timed, Any, float, float]
# Requests an asyncio load's loop answers per run of the loop, before pyperf takes them
# one value at a time (the loop must run for the load to progress).
ASYNC_BURST = 20
# Calibration: requests (the first is a warm-up and not used), each due this long after
# the previous one answered; at least CALIBRATION_MIN of them, more while within
# CALIBRATION_S, up to CALIBRATION_REQUESTS.  Service times under a GIL convoy are
# heavy-tailed: a mean of a handful misses the rate by half either way, which wastes the
# point's time (a rate too low) or builds a queue (too high).
CALIBRATION_REQUESTS = 21
CALIBRATION_MIN = 6
CALIBRATION_S = 1.0
CALIBRATION_PAUSE_S = 0.001
# Untimed requests on the open-loop schedule after calibration, before the first value.
WARMUP_REQUESTS = 1


class LatencyMeasurement:
    """A worker's state for one latency point: the responder's setup, the CPU load and
    the open-loop schedule.  A test may set ``schedule`` before the first request, which
    then skips calibration and the warm-up requests.

    ``calls``, when given, is how many times pyperf will call :meth:`time_requests`
    (warmups + values): the load stops right after the last one.  Left running, K
    CPU-bound threads made everything after the values wait for the GIL: pyperf's
    metadata collection took 1.5 s instead of a few tens of milliseconds at K = 2.
    After calibration, :data:`WARMUP_REQUESTS` untimed requests run on the schedule."""

    def __init__(self, point: Point, calls: int | None = None) -> None:
        if point.load_in is None or point.load_workers is None:
            raise ValueError(f"{point.name} is not a latency point (it has no load_in)")
        self.point = point
        self.load_in, self.load_workers = point.load_in, point.load_workers
        self.workload = get_workload(point.workload)
        if self.workload.load is None:
            raise ValueError(f"{point.workload} is not a mixed workload")
        self._stack = contextlib.ExitStack()
        self._load_stack = contextlib.ExitStack()  # the load's stop, closed first
        self.calls_left = calls
        extras, _ = enter_setup(self._stack, self.workload, point.params)
        self.kwargs = {**point.params, **extras}
        self.load: Load | None = None
        self.schedule: OpenLoop | None = None
        #: The mean service time calibration measured (s), None until it ran.
        self.service_s: float | None = None
        # (chunks done, clock) at the end of the previous request: the load's rate is
        # taken over contiguous intervals (the waits between requests included).
        self._mark: tuple[int, float] | None = None
        self._burst: collections.deque[Sample] = collections.deque()
        #: The GIL state written into the metadata; checked again once the load runs.
        self.gil_recorded: bool | None = None
        # The timed requests' service times so far, which re-aim a calibrated rate.
        self._served = 0
        self._busy_s = 0.0

    def _started_load(self) -> Load:
        if self.load is None:
            assert self.workload.load is not None
            load = make_load(
                self.load_in, self.load_workers, self.workload.load, dict(self.point.params)
            )
            load.start()
            self._load_stack.callback(load.stop)
            self.load = load
            if self.gil_recorded is not None and gil_enabled_now() != self.gil_recorded:
                raise RuntimeError(
                    "the GIL changed state when the CPU load started (an extension module "
                    "re-enabled it); the point's metadata would be wrong"
                )
        return self.load

    def _check(self, result: Any) -> None:
        if not self.workload.check(result, **self.point.params):
            raise BatchCheckError(
                f"{self.workload.name}: a request returned {result!r}, which fails the "
                "workload's check"
            )

    def _sync_request(self, schedule: OpenLoop) -> tuple[Timed, Any]:
        """The next request of ``schedule`` in this thread: wait until it is due, call it."""
        workload, kwargs = self.workload, self.kwargs
        due = schedule.wait()
        result = workload.func(**kwargs)
        return schedule.done(due, time.perf_counter()), result

    def _requests(self, load: Load, schedule: OpenLoop, count: int) -> list[tuple[Timed, Any]]:
        """``count`` requests of ``schedule``: on the asyncio load's loop, or in this thread."""
        if isinstance(load, AsyncioLoad):
            func, async_func, kwargs = self.workload.func, self.workload.async_func, self.kwargs

            async def request() -> Any:
                return await async_func(**kwargs) if async_func else func(**kwargs)

            return load.sample(request, schedule, count)
        return [self._sync_request(schedule) for _ in range(count)]

    def calibrate(self, load: Load) -> OpenLoop:
        """The schedule of this process: Poisson arrivals at the rate that keeps the
        responder busy TARGET_UTILISATION of the time (see the module docstring)."""
        paced = OpenLoop(Fixed(CALIBRATION_PAUSE_S), paced=True)
        if isinstance(load, AsyncioLoad):  # one run of the loop
            timed = self._requests(load, paced, CALIBRATION_REQUESTS)
        else:
            timed, give_up = [], time.perf_counter() + CALIBRATION_S
            while len(timed) < CALIBRATION_REQUESTS and (
                len(timed) < CALIBRATION_MIN or time.perf_counter() < give_up
            ):
                timed.append(self._sync_request(paced))
        for _, result in timed:
            self._check(result)
        self.service_s = statistics.fmean(t.latency for t, _ in timed[1:])
        return OpenLoop(Poisson(rate_for(self.service_s), random.Random()))

    def _sync_sample(self, load: Load, schedule: OpenLoop) -> Sample:
        """One request in this thread; the load's work is counted from the end of the
        previous request, so every moment the load ran is counted once."""
        if self._mark is None:
            self._mark = (load.chunks_done(), time.perf_counter())
        request, result = self._sync_request(schedule)
        chunks, clock = self._mark
        self._mark = (load.chunks_done(), time.perf_counter())
        return request, result, self._mark[0] - chunks, self._mark[1] - clock

    def _async_sample(self, load: AsyncioLoad, schedule: OpenLoop) -> Sample:
        """The next request of a burst on the load's loop (the async form, or the sync
        form called inline); each carries an equal share of the burst's load work."""
        if not self._burst:
            chunks, clock = load.chunks_done(), time.perf_counter()
            samples = self._requests(load, schedule, ASYNC_BURST)
            share_chunks = (load.chunks_done() - chunks) / len(samples)
            share_s = (time.perf_counter() - clock) / len(samples)
            self._burst.extend((t, r, share_chunks, share_s) for t, r in samples)
        return self._burst.popleft()

    def time_requests(self, loops: int) -> float:
        """pyperf's time function: ``loops`` requests (1 for latency points), the sum of
        their latencies from their due times."""
        if self.calls_left is not None:
            if self.calls_left < 1:
                raise RuntimeError("more calls than announced: the load has stopped")
            self.calls_left -= 1
        load = self._started_load()
        sample: Callable[[Any, OpenLoop], Sample] = (
            self._async_sample if isinstance(load, AsyncioLoad) else self._sync_sample
        )
        if self.schedule is None:
            self.schedule = self.calibrate(load)
            for _ in range(WARMUP_REQUESTS):
                _, result, _, _ = sample(load, self.schedule)
                self._check(result)
        total = 0.0
        for _ in range(loops):
            request, result, chunks, seconds = sample(load, self.schedule)
            # Outside the timed region, for every request:
            if self.load_workers:
                run_facts.record_rate(LOAD_RATE_FACT, chunks, seconds)
            run_facts.record_rate(REQUEST_RATE_FACT, 1, request.gap)
            run_facts.record_rate(UTILISATION_FACT, request.busy, request.gap)
            run_facts.record_schedule(request.gap)
            self._check(result)
            self._aim(request)
            total += request.latency
        if self.calls_left == 0:
            self._load_stack.close()  # the last call: nothing timed needs the load now
        return total

    def _aim(self, request: Timed) -> None:
        """Count a timed request's service time; every AIM_EVERY of them, aim the rate of
        a schedule this measurement calibrated (a test's own schedule is left alone)."""
        self._served += 1
        self._busy_s += request.busy
        arrivals = self.schedule.arrivals if self.schedule is not None else None
        if self.service_s is None or not isinstance(arrivals, Poisson):
            return
        if self._served % AIM_EVERY == 0:
            arrivals.rate = reaimed_rate(arrivals.rate, self._busy_s / self._served)

    def close(self) -> None:
        """Stop the load (unless the last call did), then undo the responder's setup."""
        self.load = None
        try:
            self._load_stack.close()
        finally:
            self._stack.close()
