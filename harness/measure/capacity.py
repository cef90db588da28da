"""The pinned CPUs' momentary capacity: how many cores' worth of CPU work they deliver now.

A shared VM's host can slow one of its CPUs (steal time that reads 0, a noisy neighbour on
a sibling hyperthread) without telling the guest.  A speedup measured then is honest
about the machine at that moment, but its efficiency against "2 cores" is not: the
machine had less.  So beside the pairs, the worker times a fixed CPU-bound kernel that
runs in parallel without the GIL (``hashlib.sha256`` over a 64 KiB buffer: hashlib
releases the GIL for buffers of 2048 bytes or more, on every build) once on one thread
alone and once on N threads at once, N being the CPUs this process is pinned to, each
thread doing the same fixed work:

    capacity = N x t_alone / t_all

N CPUs that each run as fast as one alone give N; a CPU the host took away gives about
N - 1.  Pure measuring: no pyperf, no pandas; the worker calls :func:`measure` between
timed batches (never inside one) and records the median per run (gilbench.measure.run_facts).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import threading
import time

#: One update's buffer: well above hashlib's 2048-byte threshold for releasing the GIL,
#: small enough to stay in a core's cache.
BUFFER = bytes(64 * 1024)
#: Updates per kernel: 8 MiB, about 4 ms of one core at 2 GB/s (SHA extensions), long
#: enough that waking the threads (tens of microseconds) is noise; a measurement is the
#: kernel alone, on every CPU at once, and alone again: about 15 ms.
UPDATES = 128


def pinned_cpus() -> int:
    """How many CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def kernel(updates: int = UPDATES) -> None:
    """The fixed unit of CPU work: ``updates`` SHA-256 updates of :data:`BUFFER`."""
    digest = hashlib.sha256()
    for _ in range(updates):
        digest.update(BUFFER)


def time_alone(updates: int = UPDATES) -> float:
    """Seconds the kernel takes on this thread alone."""
    start = time.perf_counter()
    kernel(updates)
    return time.perf_counter() - start


def time_together(threads: int, updates: int = UPDATES) -> float:
    """Seconds from the moment ``threads`` threads are released at once until the last
    has run the kernel.  The threads exist and wait at a barrier before the clock starts,
    so thread start-up is not timed."""
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        kernel(updates)

    workers = [threading.Thread(target=work, name=f"gilbench-capacity-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def capacity_from(cpus: int, alone_s: float, together_s: float) -> float:
    """``cpus x alone / together``, clamped to [0, cpus].

    Clamping is honest: N CPUs cannot deliver more than N times what one of them does
    alone, so a value above N only says that the "alone" reference was disturbed or the
    timer jittered; reporting it would overstate the machine (and make capacity
    efficiency look worse than plain efficiency for no physical reason).  Below 0 cannot
    happen with positive times; a non-positive time gives NaN.
    """
    if alone_s <= 0 or together_s <= 0:
        return float("nan")
    return min(float(cpus), max(0.0, cpus * alone_s / together_s))


def measure(cpus: int | None = None, updates: int = UPDATES) -> float:
    """The pinned CPUs' capacity now, in cores (see the module docstring).

    Timed alone, together, alone: the symmetric order cancels a linear drift of the
    machine's speed over the 15 ms or so it takes.  One pinned CPU is
    exactly one core's worth by definition (there is nothing to compare it with), and
    costs nothing to measure.
    """
    n = pinned_cpus() if cpus is None else cpus
    if n <= 1:
        return 1.0
    first = time_alone(updates)
    together = time_together(n, updates)
    alone = statistics.mean([first, time_alone(updates)])
    return capacity_from(n, alone, together)
