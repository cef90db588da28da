"""CPU time beside wall time: the direct evidence of how many cores a batch kept busy.

The pyperf worker records (cpu, wall) for every timed batch here; pyperf calls the hook's
``teardown`` after each series of values, and the hook writes the sums into the run's
metadata.  pyperf computes warmups and values as two series, so the last teardown, and
with it the run's metadata, covers the timed values only.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import psutil

HOOK_NAME = "gilbench_cputime"

_samples: list[tuple[float, float]] = []


def process_tree_cpu_seconds(process: psutil.Process | None = None) -> float:
    """User + system CPU seconds of this process, its reaped children and live descendants.

    Live descendants matter: process-pool workers are alive while the batch runs, and
    ``os.times()`` counts a child only after it has been waited for.
    """
    process = process or psutil.Process()
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:  # exited between listing and reading
            continue
        total += child_times.user + child_times.system
    return total


def record(cpu_s: float, wall_s: float) -> None:
    """Remember one timed batch's CPU and wall seconds."""
    _samples.append((cpu_s, wall_s))


class CpuTimeHook:
    """pyperf hook (entry point ``gilbench_cputime``) that stores CPU time in run metadata."""

    def __enter__(self) -> CpuTimeHook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def teardown(self, metadata: dict[str, Any]) -> None:
        """Write the sums of the batches since the last teardown into ``metadata``."""
        if not _samples:
            return
        cpu = sum(c for c, _ in _samples)
        wall = sum(w for _, w in _samples)
        _samples.clear()
        metadata["cpu_time_s"] = round(cpu, 6)
        metadata["timed_wall_s"] = round(wall, 6)
        if wall > 0:
            metadata["effective_cores"] = round(cpu / wall, 4)
