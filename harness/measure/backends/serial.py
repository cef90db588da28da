"""serial: the baseline every speedup is measured against.

A serial batch stands for one *average* CPU of the point's pinned set: where it is given
CPUs to rotate over (:meth:`SerialBackend.rotate_over`), its tasks are split evenly
over them, this thread moved onto each in turn.  On CPUs of unequal speed (a VM whose
host slows one vCPU for seconds at a time) a batch left wherever the thread happened to
run would make every speedup carry the speed of that one CPU (docs/method.md, "One
reference CPU").

**Timed in chunks.**  A serial batch is also timed in :data:`CHUNKS` parts, each part's
seconds per task kept (:meth:`SerialBackend.take_chunk_times`): a shared host slows a CPU
in spells, many shorter than a batch, so a batch's fastest parts say how fast the
interpreter runs the tasks on a quiet CPU (gilbench.measure.run_facts, ``serial_quiet_s``),
which is what an interpreter's single-thread cost is read from (docs/method.md, "Quiet
speed").  Parts of tiny tasks are fewer (:data:`MIN_PART_S`), so that timing them
costs the batch nothing it would show.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from gilbench.measure.backends import Backend
from gilbench.measure.batch import Batch, InOrder, TaskResult
from gilbench.measure.pinning import affinity_supported, thread_cpus

#: Parts a serial batch is timed in at most (fewer for fewer tasks: a part is one task at
#: least; split over more CPUs than this, one a CPU) ...
CHUNKS = 16
#: ... and at least this long each, as far as the last batch's pace says: a part's clock
#: readings and bookkeeping cost about a microsecond, which must stay a small share of it.
MIN_PART_S = 100e-6


def spread(tasks: int, cpus: Sequence[int], first: int = 0) -> list[tuple[int, int]]:
    """(CPU, tasks) for ``tasks`` split as evenly as they go over ``cpus``, starting at
    ``cpus[first]``: the CPUs that get one task more (or, for fewer tasks than CPUs, the
    only ones that get any) move on with ``first`` from one batch to the next."""
    count = len(cpus)
    order = [cpus[(first + i) % count] for i in range(count)]
    shares = [tasks // count + (1 if i < tasks % count else 0) for i in range(count)]
    return [(cpu, share) for cpu, share in zip(order, shares, strict=True) if share]


def chunk_sizes(tasks: int, chunks: int) -> list[int]:
    """``tasks`` split into at most ``chunks`` parts as even as they go (none empty)."""
    parts = min(tasks, chunks)
    if parts < 1:
        return []
    return [tasks // parts + (1 if i < tasks % parts else 0) for i in range(parts)]


class SerialBackend(Backend):
    """One task after another in the measuring thread: the baseline for speedup."""

    name = "serial"
    single_worker: ClassVar[bool] = True

    def __init__(self, workers: int, start_method: str | None = None) -> None:
        super().__init__(workers, start_method)
        self._cpus: tuple[int, ...] = ()
        self._home: frozenset[int] = frozenset()
        self._first = 0
        self._chunk_times: list[float] = []
        self._task_s = 0.0  # seconds per task so far (the warm-up call, then the last batch)

    def take_chunk_times(self) -> list[float]:
        """Seconds per task of every part timed since the last call (see the module
        docstring), and forget them."""
        times, self._chunk_times = self._chunk_times, []
        return times

    def rotate_over(self, cpus: Sequence[int]) -> None:
        """Split every batch from now on over ``cpus`` (where the OS lets a thread choose
        its CPU; otherwise, or where ``cpus`` is the one CPU this thread has anyway, the
        batch runs where the thread is).  The thread returns to its CPUs after each."""
        if not cpus or not affinity_supported():
            return
        home = thread_cpus()
        if len(cpus) >= 2 or frozenset(cpus) != home:
            self._cpus, self._home = tuple(sorted(cpus)), home

    def start(self, batch: Batch) -> None:
        began = time.perf_counter()
        batch.call(0)  # import and warm the workload's code path outside the timing
        self._task_s = time.perf_counter() - began

    def run(self, batch: Batch) -> Sequence[TaskResult]:
        if not self._cpus:
            return InOrder(self._timed_calls(batch, batch.size, CHUNKS))
        results: list[Any] = []
        plan = spread(batch.size, self._cpus, self._first)
        self._first = (self._first + batch.size) % len(self._cpus)
        per_cpu = -(-CHUNKS // len(plan))  # the parts spread over the CPUs too
        try:
            for cpu, tasks in plan:
                os.sched_setaffinity(0, {cpu})  # this thread only (Linux)
                results += self._timed_calls(batch, tasks, per_cpu)
        finally:
            os.sched_setaffinity(0, self._home)
        return InOrder(results)

    def _timed_calls(self, batch: Batch, tasks: int, chunks: int) -> list[Any]:
        parts = min(chunks, int(tasks * self._task_s / MIN_PART_S))
        if parts < 1:  # shorter than one part: untimed, as a bare loop would run it
            return self._calls(batch, tasks)
        results: list[Any] = []
        for size in chunk_sizes(tasks, parts):
            start = time.perf_counter()
            part = self._calls(batch, size)
            self._chunk_times.append((time.perf_counter() - start) / size)
            results += part
        self._task_s = self._chunk_times[-1]
        return results

    @staticmethod
    def _calls(batch: Batch, tasks: int) -> list[Any]:
        # Per task, only the call: the function and its arguments are bound once, and the
        # results are paired with their indices when checked, not here.
        func, kwargs = batch.workload.func, batch.task_kwargs
        if kwargs:
            return [func(**kwargs) for _ in range(tasks)]
        return [func() for _ in range(tasks)]
