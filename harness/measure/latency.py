"""A latency point in the pyperf worker: one request per timed value, a CPU load beside it.

The point's workload is a responder (``kind="mixed"``); its ``load_in`` says where the
load runs and its ``load_workers`` is K, the number of CPU workers (see
gilbench.measure.load).  Setup and starting the load happen before the first timed value; every
request's answer is checked outside the timed region.
"""

from __future__ import annotations

import collections
import contextlib
import time
from typing import Any

from gilbench.benchmarks import get_workload
from gilbench.measure import run_facts
from gilbench.measure.batch import BatchCheckError, enter_setup
from gilbench.measure.interpreter import gil_enabled_now
from gilbench.measure.load import AsyncioLoad, Load, make_load
from gilbench.vocabulary import Point

#: Fact: chunks of CPU work the load completed per second while requests were made.
LOAD_RATE_FACT = "load_chunks_per_s"
#: One timed request: latency (s), result, and the load's chunks over how many seconds.
Sample = tuple[float, Any, float, float]
# Requests an asyncio load's loop answers per run, back to back, before pyperf takes them
# one value at a time.
ASYNC_BURST = 20


class LatencyMeasurement:
    """A worker's state for one latency point: the responder's setup and the CPU load."""

    def __init__(self, point: Point) -> None:
        if point.load_in is None or point.load_workers is None:
            raise ValueError(f"{point.name} is not a latency point (it has no load_in)")
        self.point = point
        self.load_in, self.load_workers = point.load_in, point.load_workers
        self.workload = get_workload(point.workload)
        if self.workload.load is None:
            raise ValueError(f"{point.workload} is not a mixed workload")
        self._stack = contextlib.ExitStack()
        extras, _ = enter_setup(self._stack, self.workload, point.params)
        self.kwargs = {**point.params, **extras}
        self.load: Load | None = None
        # (chunks done, clock) at the end of the previous request: the load's rate is
        # taken over contiguous intervals, since a request is often shorter than a chunk.
        self._mark: tuple[int, float] | None = None
        self._burst: collections.deque[Sample] = collections.deque()
        #: The GIL state written into the metadata; checked again once the load runs.
        self.gil_recorded: bool | None = None

    def _started_load(self) -> Load:
        if self.load is None:
            assert self.workload.load is not None
            load = make_load(
                self.load_in, self.load_workers, self.workload.load, dict(self.point.params)
            )
            load.start()
            self._stack.callback(load.stop)
            self.load = load
            if self.gil_recorded is not None and gil_enabled_now() != self.gil_recorded:
                raise RuntimeError(
                    "the GIL changed state when the CPU load started (an extension module "
                    "re-enabled it); the point's metadata would be wrong"
                )
        return self.load

    def _sync_sample(self, load: Load) -> Sample:
        """One request in this thread; the load's work is counted from the end of the
        previous request, so every moment the load ran is counted once."""
        if self._mark is None:
            self._mark = (load.chunks_done(), time.perf_counter())
        workload, kwargs = self.workload, self.kwargs
        elapsed, result = load.time_sync(lambda: workload.func(**kwargs))
        chunks, clock = self._mark
        self._mark = (load.chunks_done(), time.perf_counter())
        return elapsed, result, self._mark[0] - chunks, self._mark[1] - clock

    def _async_sample(self, load: AsyncioLoad) -> Sample:
        """The next request of a burst timed on the load's loop (the async form, or the
        sync form called inline); each carries an equal share of the burst's load work."""
        if not self._burst:
            func, async_func, kwargs = self.workload.func, self.workload.async_func, self.kwargs

            async def request() -> Any:
                return await async_func(**kwargs) if async_func else func(**kwargs)

            chunks, clock = load.chunks_done(), time.perf_counter()
            samples = load.sample(request, ASYNC_BURST)
            share_chunks = (load.chunks_done() - chunks) / len(samples)
            share_s = (time.perf_counter() - clock) / len(samples)
            self._burst.extend((e, r, share_chunks, share_s) for e, r in samples)
        return self._burst.popleft()

    def time_requests(self, loops: int) -> float:
        """pyperf's time function: ``loops`` requests (1 for latency points), their time."""
        load = self._started_load()
        check = self.workload.check
        total = 0.0
        for _ in range(loops):
            if isinstance(load, AsyncioLoad):
                elapsed, result, chunks, seconds = self._async_sample(load)
            else:
                elapsed, result, chunks, seconds = self._sync_sample(load)
            # Outside the timed region, for every request:
            if self.load_workers:
                run_facts.record_rate(LOAD_RATE_FACT, chunks, seconds)
            if not check(result, **self.point.params):
                raise BatchCheckError(
                    f"{self.workload.name}: a request returned {result!r}, which fails the "
                    "workload's check"
                )
            total += elapsed
        return total

    def close(self) -> None:
        """Stop the load, then undo the responder's setup."""
        self.load = None
        self._stack.close()
