"""What a backend costs in memory: the unique memory of the measuring process and of every
process its pool started, read between timed batches.

Threads share one interpreter: a thread pool adds little beyond its stacks' touched
pages.  A process pool's workers each hold an interpreter, the workload's modules and
their data; subinterpreters sit in between (one process, an interpreter each); a
free-threaded build's objects are larger.  The figure that answers "what does each
extra worker cost" is the memory that would be freed if a process ended, its **USS**
(unique set size: pages no other process maps), summed over the measuring process and
its pool's children; **PSS** (proportional: shared pages split between the processes
that map them) is recorded beside it where the kernel gives it.  Helper processes a
workload's setup started (an echo server) are left out, as for CPU time.

Read with psutil (``memory_full_info``: ``/proc/<pid>/smaps_rollup`` on Linux, about a
millisecond a process) right after a timed batch, never inside one, while the pool's
workers are alive and hold what the batch needed.  The worker keeps the largest reading
of its process (gilbench.measure.run_facts); the tidy table subtracts the serial point's
and fits the cost per extra worker (gilbench.analysis.memory).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

MIB = 1024 * 1024


@dataclass(frozen=True)
class MemoryReading:
    """Unique and proportional memory of a process tree, in MiB (PSS NaN where the
    kernel does not give it)."""

    uss_mib: float
    pss_mib: float


def _one(process: psutil.Process) -> tuple[float, float]:
    info = process.memory_full_info()
    return float(info.uss), float(getattr(info, "pss", math.nan))


def read(exclude: Iterable[int] = ()) -> MemoryReading | None:
    """USS and PSS of this process and its live descendants (``exclude``: helper pids),
    or None where the platform cannot say."""
    skip = set(exclude)
    me = psutil.Process()
    try:
        uss, pss = _one(me)
        children = me.children(recursive=True)
    except (psutil.Error, OSError, AttributeError):
        return None
    for child in children:
        if child.pid in skip:
            continue
        try:
            child_uss, child_pss = _one(child)
        except (psutil.Error, OSError):  # exited between listing and reading
            continue
        uss += child_uss
        pss += child_pss
    return MemoryReading(uss / MIB, pss / MIB)
