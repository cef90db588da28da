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
N - 1.

Capacity compares with the CPU this thread ran on alone and is clamped to N, so it cannot
say that the pinned CPUs run at different speeds, and a host can run one vCPU at half
the speed of another for seconds at a time (docs/method.md, "Evidence behind the
constants"): a speedup against one CPU then depends on which CPU the serial work ran
on.  The hashing kernel barely feels it (SHA instructions are not what a busy sibling
hyperthread takes away from an interpreter), so :func:`cpu_speeds` moves this thread
onto each pinned CPU in turn and times a fixed pure-Python loop there, the work serial
partners of pure-Python points do; ``speed_ratio`` is the fastest CPU's speed over the
slowest's.

Pure measuring: no pyperf, no pandas; the worker calls :func:`read` between timed
batches (never inside one) and records the medians per run (gilbench.measure.run_facts).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import statistics
import threading
import time
from dataclasses import dataclass

#: One update's buffer: well above hashlib's 2048-byte threshold for releasing the GIL,
#: small enough to stay in a core's cache.
# 256 KiB per update: long enough (about 0.1 ms) that the GIL, taken back between two
# updates, is rarely what the threads wait for, and far above hashlib's 2048-byte limit.
BUFFER = bytes(256 * 1024)
UPDATES = 48
# Fewer chunks than this inside the window where every thread ran say nothing; the span
# of the whole measurement is used instead.
MIN_OVERLAP_CHUNKS = 4


def pinned_cpus() -> int:
    """How many CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def kernel(updates: int = UPDATES, stamps: list[float] | None = None) -> None:
    """The fixed unit of CPU work: ``updates`` SHA-256 updates of :data:`BUFFER`; with
    ``stamps``, the clock after each update is appended to it."""
    digest = hashlib.sha256()
    for _ in range(updates):
        digest.update(BUFFER)
        if stamps is not None:
            stamps.append(time.perf_counter())


def _own_cpus() -> list[int]:
    """The CPUs this process is pinned to, in order ([] where affinity is unknown)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def time_alone(updates: int = UPDATES) -> float:
    """Seconds the kernel takes on this thread alone."""
    start = time.perf_counter()
    kernel(updates)
    return time.perf_counter() - start


def time_together(threads: int, updates: int = UPDATES) -> float:
    """Seconds one thread's kernel takes while ``threads`` threads run it at once: from
    the work all of them completed in the window where every one of them was running.

    Threads released together do not start together: waking a thread on another CPU can
    take milliseconds on a VM, as long as the whole kernel.  Timing from the release to
    the last thread's end would read that delay as a missing core.  So each thread
    stamps every update, and only the updates finished while all threads ran count.
    """
    barrier = threading.Barrier(threads + 1)
    stamps: list[list[float]] = [[] for _ in range(threads)]
    begun = [0.0] * threads
    cpus = _own_cpus()

    def work(slot: int) -> None:
        # One thread per pinned CPU: left to itself, the kernel keeps threads woken
        # together on one CPU for longer than the kernel lasts, and two threads sharing
        # a CPU would read as a core the host took away.
        if len(cpus) >= threads:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {cpus[slot]})  # this thread only (Linux)
        barrier.wait()
        begun[slot] = time.perf_counter()
        kernel(updates, stamps[slot])

    workers = [
        threading.Thread(target=work, args=(slot,), name=f"gilbench-capacity-{slot}")
        for slot in range(threads)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    for worker in workers:
        worker.join()
    return together_from(begun, stamps, updates)


def together_from(begun: list[float], stamps: list[list[float]], updates: int) -> float:
    """One thread's equivalent kernel time from every thread's start and update stamps:
    ``threads x updates`` over the rate of all of them in the window where all ran (or,
    if that window holds too few updates, over the whole span)."""
    threads = len(stamps)
    start, end = max(begun), min(s[-1] for s in stamps)
    done = sum(1 for s in stamps for stamp in s if start < stamp <= end)
    if end <= start or done < MIN_OVERLAP_CHUNKS * threads:
        start, end, done = min(begun), max(s[-1] for s in stamps), threads * updates
    rate = done / (end - start) if end > start else float("inf")
    return threads * updates / rate if rate > 0 else float("nan")


#: Iterations of the pure-Python probe: long enough to time (below a millisecond on a
#: current core), short enough to read every CPU between two batches.
PROBE_LOOPS = 20_000
#: Passes over the pinned CPUs; each CPU keeps its fastest probe (an interrupt lengthens
#: a probe, nothing shortens one).  One pass read equal CPUs as unequal far too often
#: (docs/method.md, "Evidence behind the constants").
PROBE_PASSES = 2


def python_probe(loops: int = PROBE_LOOPS) -> float:
    """Seconds a fixed pure-Python loop takes on this thread."""
    start = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i * i % 7
    return time.perf_counter() - start


def cpu_speeds(loops: int = PROBE_LOOPS, passes: int = PROBE_PASSES) -> list[float]:
    """Each pinned CPU's pure-Python speed now, in probes per second: this thread is moved
    onto each CPU in turn, runs a tenth of a probe to settle there (a thread that just
    moved runs from cold caches), then the probe; ``passes`` times over the CPUs, each
    CPU keeping its fastest probe (an interrupt lengthens a probe, nothing shortens one).
    The thread's affinity is restored after.  [] on one CPU or where affinity cannot be
    set."""
    cpus = _own_cpus()
    if len(cpus) < 2:
        return []
    best = dict.fromkeys(cpus, math.inf)
    try:
        for _ in range(passes):
            for cpu in cpus:
                os.sched_setaffinity(0, {cpu})  # this thread only (Linux)
                python_probe(loops // 10)
                best[cpu] = min(best[cpu], python_probe(loops))
    except OSError:
        return []
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(cpus))
    return [1 / seconds if seconds > 0 else math.inf for seconds in best.values()]


def speed_ratio_from(rates: list[float]) -> float:
    """The fastest rate over the slowest (NaN for fewer than two, or a rate of 0)."""
    if len(rates) < 2 or min(rates) <= 0 or math.inf in rates:
        return float("nan")
    return max(rates) / min(rates)


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


@dataclass(frozen=True)
class Reading:
    """One capacity measurement: ``cores`` (see the module docstring) and
    ``speed_ratio``, the fastest pinned CPU's pure-Python speed over the slowest's
    (:func:`cpu_speeds`; NaN on one CPU, or when left to the pure-Python helpers of
    gilbench.measure.python_capacity)."""

    cores: float
    speed_ratio: float


def read(cpus: int | None = None, updates: int = UPDATES, *, speeds: bool = True) -> Reading:
    """The pinned CPUs' capacity now, in cores, and how unequal their speeds are (see
    the module docstring; ``speeds`` False leaves the speeds to the pure-Python
    helpers, which time each CPU from a process that sits on it).

    Timed alone, together, alone: the symmetric order cancels a linear drift of the
    machine's speed over the 15 ms or so it takes.  One pinned CPU is
    exactly one core's worth by definition (there is nothing to compare it with), and
    costs nothing to measure.
    """
    n = pinned_cpus() if cpus is None else cpus
    if n <= 1:
        return Reading(1.0, math.nan)
    first = time_alone(updates)
    together = time_together(n, updates)
    alone = statistics.mean([first, time_alone(updates)])
    ratio = speed_ratio_from(cpu_speeds()) if speeds else math.nan
    return Reading(capacity_from(n, alone, together), ratio)


def measure(cpus: int | None = None, updates: int = UPDATES) -> float:
    """The pinned CPUs' capacity now, in cores (:func:`read`'s ``cores``)."""
    return read(cpus, updates).cores
