"""CPU load for latency points: K workers that burn CPU beside a responder, and count.

A mixed workload's responder is timed in the worker's main thread (or on its event
loop) while a load runs beside it.  A latency point's ``load_in`` names where the load
runs and its ``load_workers`` is K: ``threads`` (K threads in this process, competing
for the GIL), ``processes[<start method>]`` (K processes, competing only for cores), and
``asyncio`` in two variants: ``asyncio[inline]`` (K coroutines that run CPU chunks on
the responder's own loop) and ``asyncio[executor]`` (K coroutines that hand each chunk
to a thread-pool executor, ``loop.run_in_executor``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from ctypes import c_longlong
from dataclasses import dataclass
from multiprocessing.sharedctypes import RawArray
from typing import Any

from gilbench.measure.backends import get_backend
from gilbench.measure.open_loop import OpenLoop, Timed, wait_until_async
from gilbench.vocabulary import LOAD_PLACES, split_load_place

#: A load chunk: called with the point's parameters, burns a few hundred µs of CPU.
Chunk = Callable[..., Any]

LOAD_BACKENDS = tuple(LOAD_PLACES)
ASYNCIO_VARIANTS = LOAD_PLACES["asyncio"] or ()
# How long starting or stopping a load may take before it is called stuck.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
# After the loop was stopped, how long an asyncio load runs again before requests are timed.
SETTLE_S = 0.005


class LoadError(RuntimeError):
    """The load's workers did not start or stop in time."""


def load_variants(backend: str) -> tuple[str | None, ...]:
    """The variants a mixed point's load is measured as under ``backend`` (processes:
    the default start method)."""
    if backend == "asyncio":
        return ASYNCIO_VARIANTS
    if backend == "processes":
        return (get_backend("processes").default_start_method(),)
    if backend == "threads":
        return (None,)
    raise ValueError(f"no CPU load for backend {backend!r}; loads: {', '.join(LOAD_BACKENDS)}")


class Load(ABC):
    """K CPU workers that run ``chunk(**params)`` until stopped, counting chunks."""

    def __init__(self, workers: int, chunk: Chunk, params: dict[str, Any]) -> None:
        self.workers = workers
        self.chunk = chunk
        self.params = params

    #: The event loop the responder must run on, for asyncio loads; None otherwise.
    loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    def start(self) -> None:
        """Start the workers and return once every one of them is running a chunk."""

    @abstractmethod
    def chunks_done(self) -> int:
        """Chunks completed so far, over all workers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and join every worker."""


@dataclass(frozen=True)
class _Spinner:
    """What one load worker needs (picklable, for processes): it waits until every worker
    has started, then runs chunks until ``stop`` is set, counting in its own slot."""

    chunk: Chunk
    params: dict[str, Any]
    counts: Any  # list[int] for threads, a shared RawArray for processes
    started: Any  # threading.Barrier or multiprocessing's Barrier
    stop: Any  # threading.Event or multiprocessing's Event

    def __call__(self, slot: int, errors: list[BaseException] | None = None) -> None:
        self.started.wait()
        try:
            while not self.stop.is_set():
                self.chunk(**self.params)
                self.counts[slot] += 1  # one slot per worker: no lost updates
        except BaseException as exc:
            if errors is None:
                raise
            errors.append(exc)


class ThreadLoad(Load):
    """K threads in this process: under the GIL they compete with the responder for it."""

    def start(self) -> None:
        self._counts = [0] * self.workers
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        started = threading.Barrier(self.workers + 1)
        self._threads = [
            threading.Thread(
                target=_Spinner(self.chunk, self.params, self._counts, started, self._stop),
                args=(slot, self._errors),
                name=f"gilbench-load-{slot}",
                daemon=True,
            )
            for slot in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        if self.workers:
            started.wait(timeout=START_TIMEOUT_S)

    def chunks_done(self) -> int:
        return sum(self._counts)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT_S)
        if any(thread.is_alive() for thread in self._threads):
            raise LoadError("a load thread did not stop within its time limit")
        if self._errors:
            raise LoadError(f"a load thread failed: {self._errors[0]!r}") from self._errors[0]


class ProcessLoad(Load):
    """K processes: they compete with the responder for cores, never for its GIL."""

    def __init__(
        self, workers: int, chunk: Chunk, params: dict[str, Any], start_method: str | None
    ) -> None:
        super().__init__(workers, chunk, params)
        self.start_method = start_method or load_variants("processes")[0]

    def start(self) -> None:
        context = multiprocessing.get_context(self.start_method)
        self._counts = RawArray(c_longlong, max(self.workers, 1))
        self._stop = context.Event()
        started = context.Barrier(self.workers + 1)
        self._processes = [
            context.Process(  # type: ignore[attr-defined]
                target=_Spinner(self.chunk, self.params, self._counts, started, self._stop),
                args=(slot,),
                name=f"gilbench-load-{slot}",
                daemon=True,
            )
            for slot in range(self.workers)
        ]
        for process in self._processes:
            process.start()
        if self.workers:
            started.wait(timeout=START_TIMEOUT_S)

    def chunks_done(self) -> int:
        return int(sum(self._counts))

    def stop(self) -> None:
        self._stop.set()
        for process in self._processes:
            process.join(timeout=STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        failed = [p.exitcode for p in self._processes if p.exitcode != 0]
        for process in self._processes:
            process.close()
        if failed:
            raise LoadError(f"load processes ended with exit codes {failed}")


class AsyncioLoad(Load):
    """K coroutines on an event loop that the responder's requests then run on.

    ``inline`` runs each chunk on the loop itself (blocking it for the chunk, then
    yielding); ``executor`` awaits each chunk in a thread pool of K threads.

    The loop runs in the caller's thread and requests are timed in bursts (``sample``),
    each a stretch of the open-loop schedule (gilbench.measure.open_loop):
    the loop must keep running for the load to progress (an executor chunk is resubmitted
    from the loop), and a loop in a thread of its own would starve the caller's thread of
    the GIL (it releases and retakes the GIL at every turn, in select).
    """

    def __init__(
        self, workers: int, chunk: Chunk, params: dict[str, Any], variant: str | None
    ) -> None:
        super().__init__(workers, chunk, params)
        if variant not in ASYNCIO_VARIANTS:
            raise ValueError(f"asyncio load variant {variant!r}; variants: {ASYNCIO_VARIANTS}")
        self.variant = variant
        self._count = 0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._pool: ThreadPoolExecutor | None = None

    async def _inline(self) -> None:
        while not self._stopping:
            self.chunk(**self.params)
            self._count += 1
            await asyncio.sleep(0)

    async def _in_executor(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            await loop.run_in_executor(self._pool, lambda: self.chunk(**self.params))
            self._count += 1

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        if self.variant == "executor" and self.workers:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gilbench-load")
        body = self._inline if self.variant == "inline" else self._in_executor
        self._tasks = [self.loop.create_task(body()) for _ in range(self.workers)]
        self.loop.run_until_complete(asyncio.sleep(0))  # every coroutine has started

    async def _burst(
        self, request: Callable[[], Awaitable[Any]], schedule: OpenLoop, count: int
    ) -> list[tuple[Timed, Any]]:
        # The load paused while the loop was stopped: let it run again, then start a
        # fresh stretch of arrivals (the time the loop was stopped had none).
        await asyncio.sleep(SETTLE_S)
        schedule.restart()
        out = []
        for _ in range(count):
            due = schedule.next_due
            await wait_until_async(due, schedule.clock)
            result = await request()
            out.append((schedule.done(due, schedule.clock()), result))
        return out

    def sample(
        self, request: Callable[[], Awaitable[Any]], schedule: OpenLoop, count: int
    ) -> list[tuple[Timed, Any]]:
        """Run the loop for the next ``count`` requests of ``schedule``, each started when
        it is due (the load's coroutines run meanwhile); their timings and results."""
        assert self.loop is not None, "start() first"
        return self.loop.run_until_complete(self._burst(request, schedule, count))

    def chunks_done(self) -> int:
        return self._count

    def stop(self) -> None:
        if self.loop is None:
            return
        self._stopping = True
        try:
            if self._tasks:
                self.loop.run_until_complete(
                    asyncio.wait_for(asyncio.gather(*self._tasks), STOP_TIMEOUT_S)
                )
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
            self.loop = None


def make_load(load_in: str, workers: int, chunk: Chunk, params: dict[str, Any]) -> Load:
    """The load of a latency point: ``workers`` (its ``load_workers``) CPU workers in
    ``load_in`` (its ``load_in``: ``threads``, ``processes[forkserver]``, ...)."""
    backend, variant = split_load_place(load_in)
    if backend == "threads":
        return ThreadLoad(workers, chunk, params)
    if backend == "processes":
        return ProcessLoad(workers, chunk, params, variant)
    if backend == "asyncio":
        return AsyncioLoad(workers, chunk, params, variant)
    raise ValueError(f"no CPU load for backend {backend!r}; loads: {', '.join(LOAD_BACKENDS)}")


def load_counts(cores: int, dense: bool, per_core: int = 2) -> list[int]:
    """K for a latency sweep: 0 (the responder alone), then up to ``per_core`` x cores:
    every count when ``dense`` (and the machine small enough), else 0, 1, 2, 4, ... and
    the top (with cores among them)."""
    top = per_core * cores
    if dense and top <= 8:
        return list(range(top + 1))
    counts = {0, cores, top}
    value = 1
    while value < top:
        counts.add(value)
        value *= 2
    return sorted(c for c in counts if c <= top)
