"""Per-run metadata measured in the pyperf worker: CPU time, and the workload's facts.

The worker records, for every timed batch, its CPU and wall seconds and the facts the
workload derives from the batch's results (lost updates, deadlocks seen, ...).  pyperf
calls the hook's ``teardown`` after each series of values, and the hook writes the
aggregates into the run's metadata.  pyperf computes warmups and values as two series,
so the last teardown, and with it the run's metadata, covers the timed values only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

from gilbench.vocabulary import FACT_PREFIX, combine_fact

HOOK_NAME = "gilbench_run_facts"

_times: list[tuple[float, float]] = []
_facts: list[Mapping[str, int | float]] = []
_rates: dict[str, list[float]] = {}


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


def record_rate(key: str, count: float, seconds: float) -> None:
    """Add ``count`` events over ``seconds`` to rate fact ``key`` (total count / total time:
    a mean of per-value rates would overweight short values)."""
    totals = _rates.setdefault(key, [0.0, 0.0])
    totals[0] += count
    totals[1] += seconds


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
        _aggregate_facts(metadata)
        for key, (count, seconds) in sorted(_rates.items()):
            if seconds > 0:
                metadata[f"{FACT_PREFIX}{key}"] = round(count / seconds, 3)
        _times.clear()
        _facts.clear()
        _rates.clear()
