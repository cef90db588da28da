"""Where the workers' time went during a timed batch: running, waiting for a CPU, blocked.

For every timed backend batch the worker reads the scheduler statistics of the backend's
workers (:meth:`gilbench.measure.backends.Backend.worker_threads`) just before and just
after it, from ``/proc/<pid>/task/<tid>/schedstat``: the first field is the nanoseconds
the thread has run on a CPU, the second the nanoseconds it waited on a run queue,
runnable but without a CPU.  The workers' time during the batch is its wall time x the
number of workers, split three ways:

- ``running``: on a CPU;
- ``runqueue``: runnable, waiting for a CPU (more workers than CPUs, or a busy machine);
- ``blocked``: the rest, asleep: waiting for the GIL, a lock, a queue or I/O.  Linux does
  not show sleeping time per thread without the kernel's schedstats switched on
  (``/proc/<pid>/task/<tid>/sched``, often absent), so it is what remains.  For
  pure-Python threads under the GIL, it is the GIL made visible.

The reads happen outside the timed interval, while the workers are idle, so they cost
the batch nothing and miss nothing the workers did in it.  The kernel updates a running
thread's run time at scheduler events, so each read can lag by up to one tick (1 to
4 ms): running + runqueue can exceed the total by that much; :func:`split` clips the
excess and reports it, so a larger one can be warned about.

Where ``/proc`` has no schedstat (not Linux, or a kernel without it), the fallback is the
CPU time of this process and its children over the batch (``os.times()`` and psutil, as
:class:`gilbench.measure.run_facts.CpuClock` reads it) as running time, and the run queue
share is unknown (NaN); blocked is again the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: A worker thread: (process id, thread id); the main thread of a process has tid == pid.
Thread = tuple[int, int]


def read_schedstat(pid: int, tid: int) -> tuple[int, int] | None:
    """(ns on a CPU, ns waiting on a run queue) of thread ``tid`` of process ``pid``, or
    None when the file is missing or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Shares:
    """One batch's (or many batches') worker time, in seconds, split three ways."""

    running_s: float
    runqueue_s: float  # NaN where unknown (the fallback)
    total_s: float  # wall time x workers

    def __add__(self, other: Shares) -> Shares:
        return Shares(self.running_s + other.running_s, self.runqueue_s + other.runqueue_s,
                      self.total_s + other.total_s)  # fmt: skip

    def split(self) -> tuple[float, float, float, float]:
        """(share running, share on a run queue, share blocked, excess).

        ``excess`` is how far running + runqueue went past the total (0 when they fit):
        the shares are then scaled down to sum to 1 with nothing blocked.  Run queue NaN
        (unknown) counts as 0 in the sum and stays NaN.
        """
        if self.total_s <= 0:
            nan = float("nan")
            return nan, nan, nan, nan
        running = self.running_s / self.total_s
        queued = self.runqueue_s / self.total_s
        busy = running + (0.0 if math.isnan(queued) else queued)
        excess = max(0.0, busy - 1.0)
        if busy > 1.0:
            running, queued, busy = running / busy, queued / busy, 1.0
        return running, queued, max(0.0, 1.0 - busy), excess


#: One reading of every worker's counters, or None where one could not be read.
Reading = list[tuple[int, int]] | None


def read_all(threads: Sequence[Thread]) -> Reading:
    """Every worker's (ns running, ns on a run queue), or None if any is unreadable."""
    out = []
    for pid, tid in threads:
        stat = read_schedstat(pid, tid)
        if stat is None:
            return None
        out.append(stat)
    return out


class ShareClock:
    """Reads the workers' schedstat around one timed batch, outside its timing:
    ``start()`` just before, ``read()`` just after, ``stop()`` whenever convenient."""

    def __init__(self, threads: Sequence[Thread]) -> None:
        self.threads = tuple(threads)
        self._before: Reading = None

    def start(self) -> None:
        """Read every worker's counters just before the batch."""
        self._before = read_all(self.threads)

    def read(self) -> Reading:
        """Read every worker's counters just after the batch."""
        return read_all(self.threads)

    def stop(self, after: Reading, wall_s: float, cpu_s: float) -> Shares:
        """The workers' time during a batch of ``wall_s`` seconds, from the readings
        before and ``after``; without them (no schedstat), ``cpu_s`` (CPU time of the
        process tree over the batch) is the running time and the run queue is unknown."""
        total = wall_s * max(1, len(self.threads))
        before = self._before
        if before is None or after is None or not self.threads:
            return Shares(min(cpu_s, total), float("nan"), total)
        running = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
        waiting = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
        return Shares(running / 1e9, waiting / 1e9, total)
