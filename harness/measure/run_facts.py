"""Per-run metadata measured in the pyperf worker: CPU time, the workload's facts, the
serial partners of time-paired batches, the machine's capacity and the workers' shares.

The worker records, for every timed batch, its CPU and wall seconds and the facts the
workload derives from the batch's results (lost updates, deadlocks seen, ...).  pyperf
calls the hook's ``teardown`` after each series of values, and the hook writes the
aggregates into the run's metadata.  pyperf computes warmups and values as two series,
so the last teardown, and with it the run's metadata, covers the timed values only.

Schema 3 adds, per run (gilbench.metadata): ``paired_serial_s`` (each value's serial
partner, in value order; a partner shared by two values appears twice), ``capacity``
(median over the process: it is the machine's, so measurements taken during warmups
count too) and, later in schema 3, ``cpu_speed_ratio`` (likewise: the fastest pinned
CPU's pure-Python speed over the slowest's), ``capacity_python`` (likewise: the
capacity for pure Python, gilbench.measure.python_capacity), ``serial_quiet_s``
(likewise: the process's serial work at its quietest, :func:`record_task_times`),
``share_running``,
``share_runqueue``, ``share_blocked`` and ``shares_excess`` (gilbench.measure.shares),
and ``timed_s`` (the seconds spent measuring: inside timed batches, backend and serial
partners, each counted once; for a latency point, the span of its open-loop schedule,
over which every moment is measured: a request due at any moment in it would have been
timed from then).
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

from gilbench.measure.shares import Shares
from gilbench.vocabulary import FACT_PREFIX, combine_fact

HOOK_NAME = "gilbench_run_facts"

_times: list[tuple[float, float]] = []
_facts: list[Mapping[str, int | float]] = []
_rates: dict[str, list[float]] = {}
_partners: list[float] = []
_partner_seconds: list[float] = []
_capacities: list[float] = []  # not cleared by teardown: the whole process's
_speed_ratios: list[float] = []  # likewise (gilbench.measure.capacity.Reading)
_python_capacities: list[float] = []  # likewise (gilbench.measure.python_capacity)
_task_times: list[float] = []  # likewise: serial parts' seconds per task (record_task_times)
_shares: list[Shares] = []
_tails: list[tuple[float, float]] = []  # (tail share, batch seconds): gilbench.measure.tail
_memory: list[tuple[float, float]] = []  # (USS, PSS) in MiB: gilbench.measure.memory
_schedule_seconds: list[float] = []  # latency points: the open-loop schedule's spans


def _schedstat_seconds(pid: int) -> float | None:
    """CPU seconds of every thread of ``pid`` from /proc/PID/task/*/schedstat (nanoseconds).

    /proc/PID/stat counts in clock ticks (10 ms): too coarse for batches of tens of ms.
    """
    try:
        total_ns = 0
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            total_ns += int(stat.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total_ns / 1e9 if total_ns else None


def _child_seconds(child: psutil.Process) -> float:
    precise = _schedstat_seconds(child.pid)
    if precise is not None:
        return precise
    times = child.cpu_times()
    return float(times.user + times.system)


def own_cpu_seconds() -> float:
    """CPU seconds of this process, all threads, on a nanosecond clock."""
    return time.process_time()


def children_cpu_seconds(exclude: Iterable[int] = ()) -> float:
    """CPU seconds of this process's reaped children and live descendants.

    Live descendants matter: process-pool workers are alive while the batch runs, and
    ``os.times()`` counts a child only after it has been waited for.  Helper processes a
    workload's setup started (an echo server) are ``exclude``d: they are the far end of
    the I/O, not the work.
    """
    reaped = os.times()
    total = reaped.children_user + reaped.children_system
    skip = set(exclude)
    for child in psutil.Process().children(recursive=True):
        if child.pid in skip:
            continue
        try:
            total += _child_seconds(child)
        except psutil.Error:  # exited between listing and reading
            continue
    return total


class CpuClock:
    """CPU time of the process tree around a timed region.

    Reading the children costs CPU in this process, so the readings are ordered to keep
    that cost outside the measured interval: children then self before, self then
    children after.
    """

    def __init__(self, exclude: Iterable[int] = ()) -> None:
        self.exclude = tuple(exclude)
        self._children = self._own = 0.0

    def start(self) -> None:
        """Read the clocks just before the timed region."""
        self._children = children_cpu_seconds(self.exclude)
        self._own = own_cpu_seconds()

    def stop(self) -> float:
        """CPU seconds used by the tree since ``start``."""
        own = own_cpu_seconds() - self._own
        return own + children_cpu_seconds(self.exclude) - self._children


def record(cpu_s: float, wall_s: float, facts: Mapping[str, int | float] | None = None) -> None:
    """Remember one timed batch: CPU and wall seconds, and its facts if any."""
    _times.append((cpu_s, wall_s))
    if facts:
        _facts.append(facts)


def record_pair(serial_s: float, batches: int = 1, timed_s: float | None = None) -> None:
    """Remember the serial partner of the value just recorded: ``serial_s`` seconds for
    ``batches`` serial batches (one per backend batch of the value), of which ``timed_s``
    were timed for this value (default: all; a partner shared with the value before was
    timed, and counted, there)."""
    _partners.append(serial_s / batches)
    _partner_seconds.append(serial_s if timed_s is None else timed_s)


def record_schedule(seconds: float) -> None:
    """Remember ``seconds`` of a latency point's open-loop schedule (a request's gap to the
    next): time spent measuring, counted in ``timed_s``."""
    _schedule_seconds.append(seconds)


def record_capacity(
    cores: float, speed_ratio: float = math.nan, python_cores: float = math.nan
) -> None:
    """Remember one measurement of the pinned CPUs' capacity, of how unequal their
    speeds were and of their capacity for pure Python (gilbench.measure.capacity.Reading,
    gilbench.measure.python_capacity)."""
    if not math.isnan(cores):
        _capacities.append(cores)
    if not math.isnan(speed_ratio):
        _speed_ratios.append(speed_ratio)
    if not math.isnan(python_cores):
        _python_capacities.append(python_cores)


#: The share of a process's serial parts whose time per task is its quiet speed.
QUIET_QUANTILE = 0.1


def quiet_time(seconds_per_task: list[float]) -> float:
    """The :data:`QUIET_QUANTILE` of the parts' times (linear between order statistics,
    numpy's default; no numpy in a worker: it would weigh on its memory and start-up)."""
    if len(seconds_per_task) == 1:
        return seconds_per_task[0]
    cuts = statistics.quantiles(seconds_per_task, n=round(1 / QUIET_QUANTILE), method="inclusive")
    return cuts[0]


def record_task_times(seconds_per_task: Iterable[float]) -> None:
    """Remember the seconds per task of serial parts (gilbench.measure.backends.serial):
    a serial point's batches or a point's serial partners.  The process's
    :data:`QUIET_QUANTILE` of them is its ``serial_quiet_s``: the host only ever slows a
    CPU down, in spells (docs/method.md, "Quiet speed"), so the fastest parts are the
    interpreter's speed on a quiet CPU.  A quantile rather than the fastest part, so
    that one lucky part (or a process with more parts than another) decides nothing.
    Warmups count: like capacity, a property of the process, not of one value."""
    _task_times.extend(t for t in seconds_per_task if t > 0)


def record_shares(shares: Shares) -> None:
    """Remember how the workers spent one timed batch (gilbench.measure.shares)."""
    _shares.append(shares)


def record_tail(share: float, wall_s: float) -> None:
    """Remember the tail share of one timed pool batch (gilbench.measure.tail) and its
    seconds (the weight of its share); a NaN share (no pool) is left out."""
    if not math.isnan(share):
        _tails.append((share, wall_s))


def record_memory(uss_mib: float, pss_mib: float) -> None:
    """Remember one reading of the process tree's memory (gilbench.measure.memory)."""
    _memory.append((uss_mib, pss_mib))


def record_rate(key: str, count: float, seconds: float) -> None:
    """Add ``count`` events over ``seconds`` to rate fact ``key`` (total count / total time:
    a mean of per-value rates would overweight short values)."""
    totals = _rates.setdefault(key, [0.0, 0.0])
    totals[0] += count
    totals[1] += seconds


def _aggregate_pairs(metadata: dict[str, Any]) -> None:
    """Partners, capacity, shares and the timed seconds of this series (see the module
    docstring).  Keys a series has nothing for are removed, so the warmups' values never
    stand in for the timed values' (the metadata dict is shared by both series)."""
    for key in PAIR_KEYS:
        metadata.pop(key, None)
    if _partners:
        metadata["paired_serial_s"] = " ".join(f"{s:.9g}" for s in _partners)
    if _capacities:
        metadata["capacity"] = round(statistics.median(_capacities), 4)
    if _speed_ratios:
        metadata["cpu_speed_ratio"] = round(statistics.median(_speed_ratios), 4)
    if _python_capacities:
        metadata["capacity_python"] = round(statistics.median(_python_capacities), 4)
    if _task_times:
        metadata["serial_quiet_s"] = float(f"{quiet_time(_task_times):.6g}")
    if _shares:
        total = sum(_shares[1:], _shares[0])
        running, queued, blocked, excess = total.split()
        metadata["share_running"] = round(running, 4)
        if not math.isnan(queued):
            metadata["share_runqueue"] = round(queued, 4)
        metadata["share_blocked"] = round(blocked, 4)
        metadata["shares_excess"] = round(excess, 4)
    if _tails:
        weight = sum(w for _, w in _tails)
        mean = sum(s * w for s, w in _tails) / weight if weight > 0 else math.nan
        if not math.isnan(mean):
            metadata["share_tail"] = round(mean, 4)
    if _memory:
        metadata["memory_uss_mib"] = round(max(uss for uss, _ in _memory), 3)
        pss = [p for _, p in _memory if not math.isnan(p)]
        if pss:
            metadata["memory_pss_mib"] = round(max(pss), 3)
    if _times or _schedule_seconds:
        measuring = sum(w for _, w in _times) + sum(_partner_seconds) + sum(_schedule_seconds)
        metadata["timed_s"] = round(measuring, 6)


#: The run metadata keys :func:`_aggregate_pairs` writes.
PAIR_KEYS = ("paired_serial_s", "capacity", "cpu_speed_ratio", "capacity_python", "serial_quiet_s",
             "share_running", "share_runqueue", "share_blocked", "shares_excess", "share_tail",
             "memory_uss_mib", "memory_pss_mib", "timed_s")  # fmt: skip


def _aggregate_facts(metadata: dict[str, Any]) -> None:
    for key in sorted({k for facts in _facts for k in facts}):
        values = [float(facts[key]) for facts in _facts if key in facts]
        metadata[f"{FACT_PREFIX}{key}"] = round(combine_fact(key, values), 6)


class RunFactsHook:
    """pyperf hook (entry point ``gilbench_run_facts``): writes CPU time and facts."""

    def __enter__(self) -> RunFactsHook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def teardown(self, metadata: dict[str, Any]) -> None:
        """Write the aggregates of the batches since the last teardown into ``metadata``."""
        if _times:
            cpu = sum(c for c, _ in _times)
            wall = sum(w for _, w in _times)
            metadata["cpu_time_s"] = round(cpu, 6)
            metadata["timed_wall_s"] = round(wall, 6)
            if wall > 0:
                metadata["effective_cores"] = round(cpu / wall, 4)
        _aggregate_pairs(metadata)
        _aggregate_facts(metadata)
        for key, (count, seconds) in sorted(_rates.items()):
            if seconds > 0:
                metadata[f"{FACT_PREFIX}{key}"] = round(count / seconds, 3)
        _times.clear()
        _facts.clear()
        _rates.clear()
        _partners.clear()
        _partner_seconds.clear()
        _shares.clear()
        _tails.clear()
        _memory.clear()
        _schedule_seconds.clear()
