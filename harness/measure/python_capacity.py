"""The pinned CPUs' capacity for pure Python: how many average pinned CPUs' worth of
interpreter work they deliver when all of them run it at once.

The hashing kernel of gilbench.measure.capacity runs on threads because hashlib releases
the GIL; pure Python cannot run on threads in parallel under the GIL, and what slows an
interpreter (a busy sibling hyperthread, a host that throttles one vCPU) is not what
slows SHA instructions.  So a throughput worker pinned to two or more CPUs starts one
helper *process* per pinned CPU before anything else (a fork: no thread exists yet, and
the helper holds nothing but a pipe), each pinned to its CPU and asleep on its pipe.  A
reading then times a fixed pure-Python loop in each helper alone, one CPU after
another (on many CPUs, the next few of them in turn); in all of them at once, twice; and
alone again in the reverse order, each side keeping its best (an interrupt lengthens a
run of two milliseconds, nothing shortens one):

    capacity_python = (helpers' combined rate while all ran) / (mean rate of one alone)

Its reference is the same as a pure-Python speedup's since the serial reference runs on
every pinned CPU in turn: the rate of an average pinned CPU alone.  So a pure-Python
point's ``capacity_efficiency`` holds its speedup against what the CPUs could deliver to
an interpreter at that moment.  The helpers' alone times also give each CPU's
pure-Python speed: the fastest CPU's speed over the slowest's (their best of two; on
many CPUs, of the ones this reading timed) is the reading's ``speed_ratio``, measured
here in processes that sit on each CPU instead of one thread moved onto it.

The helpers cost nothing while a batch runs (they sleep on their pipes), a fork each when
the worker starts (about a millisecond apiece); their pids are left out of the worker's
CPU time and memory.  Where fork is unavailable, threads
already run, or only one CPU is pinned, there are no helpers and no reading.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import statistics
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from gilbench.measure.capacity import together_from

#: Iterations of one chunk of the loop (a fraction of a millisecond) and chunks per
#: timing: long enough to time and for the helpers' runs to overlap after staggered
#: wake-ups, short enough that a reading on 16 CPUs costs tens of milliseconds.
CHUNK_LOOPS = 5_000
CHUNKS = 8
#: Runs of all helpers at once per reading, the fastest kept (as each CPU alone keeps
#: the faster of its two).
TOGETHER_RUNS = 2
#: CPUs timed alone per reading, in turn; on more CPUs each reading takes the next ones
#: (a reading on 128 CPUs would otherwise spend half a second timing them one by one).
ALONE_SAMPLE = 8


def together_chunks(cpus: int, chunks: int = CHUNKS) -> int:
    """Chunks each helper runs when all run at once: more on many CPUs, where handing the
    request to one helper after another takes longer, so that the window in which all
    of them run stays most of each helper's run."""
    return max(chunks, 4 + cpus // 4)


def python_chunks(chunks: int, loops: int, stamps: list[float] | None = None) -> float:
    """Run ``chunks`` chunks of a fixed pure-Python loop; return their seconds (with
    ``stamps``, the clock after each chunk is appended to it)."""
    start = time.perf_counter()
    for _ in range(chunks):
        total = 0
        for i in range(loops):
            total += i * i % 7
        if stamps is not None:
            stamps.append(time.perf_counter())
    return time.perf_counter() - start


def _serve(conn: Connection, cpu: int) -> None:
    """A helper's life: pinned to ``cpu``, run what the pipe asks until it closes."""
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})
    python_chunks(1, CHUNK_LOOPS)  # settle on the CPU before the first request
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        chunks, loops, stamped = request
        # A CPU woken from idle runs its first fraction of a millisecond slowly: one
        # chunk untimed first, alone and together alike.
        python_chunks(1, loops)
        if stamped:
            stamps: list[float] = []
            begun = time.perf_counter()
            python_chunks(chunks, loops, stamps)
            conn.send((begun, stamps))
        else:
            conn.send(python_chunks(chunks, loops))


@dataclass(frozen=True)
class PythonReading:
    """One reading: ``cores`` (average pinned CPUs' worth, see the module docstring) and
    ``speed_ratio`` (the fastest pinned CPU's pure-Python speed over the slowest's)."""

    cores: float
    speed_ratio: float


def capacity_from(
    alone_s: list[float], together_rate: float, chunks: int, cpus: int | None = None
) -> float:
    """Combined chunks per second while all ran over the mean chunks per second of one
    alone (``alone_s``: seconds for ``chunks`` chunks of each CPU timed alone, all of
    them or a sample), clamped to [0, ``cpus``] (default: one per alone time): N CPUs
    cannot deliver more than N of themselves, and a value above only says a reference
    was disturbed."""
    rates = [chunks / s for s in alone_s if s > 0]
    if not rates or len(rates) != len(alone_s) or not together_rate > 0:
        return math.nan
    most = float(cpus if cpus is not None else len(rates))
    return min(most, max(0.0, together_rate / statistics.mean(rates)))


class PythonHelpers:
    """One sleeping helper process per pinned CPU; :meth:`read` times them."""

    def __init__(self, cpus: list[int]) -> None:
        self.cpus = list(cpus)
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        self._next = 0  # the first helper the next reading times alone

    @classmethod
    def start(cls, cpus: list[int]) -> PythonHelpers:
        """Fork the helpers; an instance without any where that cannot be done safely
        (one CPU, no fork, a thread already running: forking then may copy a held
        lock)."""
        helpers = cls(cpus)
        methods = multiprocessing.get_all_start_methods()
        if len(cpus) < 2 or "fork" not in methods or threading.active_count() > 1:
            return helpers
        context = multiprocessing.get_context("fork")
        try:
            for cpu in cpus:
                mine, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs, cpu), daemon=True,
                                          name=f"gilbench-python-capacity-{cpu}")  # fmt: skip
                process.start()
                theirs.close()
                helpers._conns.append(mine)
                helpers._processes.append(process)
        except OSError:
            helpers.close()
            return cls(cpus)
        return helpers

    @property
    def pids(self) -> tuple[int, ...]:
        """The helpers' process ids (left out of CPU time and memory)."""
        return tuple(p.pid for p in self._processes if p.pid is not None)

    def __bool__(self) -> bool:
        return bool(self._conns)

    def _alone(self, order: list[int], chunks: int, loops: int) -> list[float]:
        seconds = []
        for index in order:
            self._conns[index].send((chunks, loops, False))
            seconds.append(self._conns[index].recv())
        return seconds

    def alone_order(self) -> list[int]:
        """The helpers the next reading times alone: all of them, or on more than
        :data:`ALONE_SAMPLE` CPUs the next ones in turn."""
        count = len(self._conns)
        if count <= ALONE_SAMPLE:
            return list(range(count))
        first, self._next = self._next, (self._next + ALONE_SAMPLE) % count
        return [(first + i) % count for i in range(ALONE_SAMPLE)]

    def read(self, chunks: int = CHUNKS, loops: int = CHUNK_LOOPS) -> PythonReading | None:
        """Alone in turn, all at once, alone in the reverse order (None without helpers,
        or if one of them is gone)."""
        if not self:
            return None
        order = self.alone_order()
        together = together_chunks(len(self._conns), chunks)
        try:
            before = self._alone(order, chunks, loops)
            rates = [self._together(together, loops) for _ in range(TOGETHER_RUNS)]
            rate = max((r for r in rates if not math.isnan(r)), default=math.nan)
            after = self._alone(order[::-1], chunks, loops)[::-1]
        except (EOFError, OSError):
            self.close()
            return None
        # Each side keeps its best: an interrupt or a moment of someone else's work
        # lengthens a run of two milliseconds, nothing shortens one.
        best = [min(pair) for pair in zip(before, after, strict=True)]
        ratio = max(best) / min(best) if min(best) > 0 else math.nan
        return PythonReading(capacity_from(best, rate, chunks, len(self._conns)), ratio)

    def _together(self, chunks: int, loops: int) -> float:
        """Chunks per second of all helpers at once, in the window where all ran."""
        for conn in self._conns:
            conn.send((chunks, loops, True))
        runs = [conn.recv() for conn in self._conns]
        together = together_from([b for b, _ in runs], [s for _, s in runs], chunks)
        return len(runs) * chunks / together if together > 0 else math.nan

    def close(self) -> None:
        """Ask the helpers to end, then make sure they have."""
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            conn.close()
        for process in self._processes:
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=1.0)
        self._conns, self._processes = [], []
