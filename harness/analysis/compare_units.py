"""The independent units a comparison tests, and the serial cost read from every partner.

A point's units are its worker processes (docs/statistics.md, "Units"): per process, its
median batch time, its median per-pair speedup and, for a latency point, its 90th
percentile.  Every throughput point measured with time pairs also timed, in each of its
processes, a serial partner: the same workload's tasks run serially, on the same
interpreter and machine, minutes apart from the serial point itself.  Between two sides,
all of a workload's partners measure one thing, how fast its tasks run on one CPU, so
they are pooled into one comparison, **serial (partners)**: each process's median
partner time per task a unit, paired process by process between the two sides of an
interleaved run (the i-th process of a point on A beside the i-th on B).  A workload's
one serial point has 3 processes a side in quick; its partners, 3 per point at every
worker count and backend: where an interpreter's single-thread cost (3.14t against 3.14,
a few percent) is lost in the serial point's noise, the partners can find it.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyperf

from gilbench.analysis.rounds import run_pair_ratios

#: The backend label of the rows that pool every partner of a workload.
PARTNERS_LABEL = "serial (partners)"


@dataclass(frozen=True)
class Units:
    """One point's independent units: per process, its median batch time, its median
    per-pair speedup (processes without pairs give none), its 90th percentile of request
    latency (latency points only) and its median serial partner time per task (processes
    with pairs only)."""

    times: list[float]
    speedups: list[float]
    p90s: list[float]
    partners: list[float] = field(default_factory=list)


NO_UNITS = Units([], [], [])


def _partner_per_task(run: pyperf.Run, tasks: float) -> float | None:
    """A run's median serial partner time per task (None without partners)."""
    text = run.get_metadata().get("paired_serial_s")
    if not isinstance(text, str) or not run_pair_ratios(run):
        return None
    return statistics.median(float(item) for item in text.split()) / tasks


def process_units(bench: pyperf.Benchmark) -> Units:
    """One benchmark's independent units (:class:`Units`)."""
    runs = [run for run in bench.get_runs() if run.values]
    ratios = (run_pair_ratios(run) for run in runs)
    meta = bench.get_metadata()
    latency = meta.get("load_in", "-") not in ("-", "")
    tasks = float(meta.get("tasks", 1) or 1)
    partners = (_partner_per_task(run, tasks) for run in runs)
    return Units(
        [statistics.median(run.values) for run in runs],
        [statistics.median(r) for r in ratios if r],
        [float(np.percentile(run.values, 90)) for run in runs] if latency else [],
        [p for p in partners if p is not None],
    )


def partner_groups(
    rows: Iterable[dict[Hashable, Any]], group: list[str]
) -> dict[tuple[Any, ...], list[dict[Hashable, Any]]]:
    """The merged rows (both sides of a point) that have partners, by ``group`` (the
    workload, its params and what else two sides are matched on, but not the backend
    or the workers)."""
    found: dict[tuple[Any, ...], list[dict[Hashable, Any]]] = {}
    for row in rows:
        if row["backend"] != "serial" and not row.get("load_in"):
            found.setdefault(tuple(row[c] for c in group), []).append(row)
    return found


def pooled_partners(
    units: list[tuple[Units, Units]], paired: bool
) -> tuple[list[float], list[float]]:
    """Every point's partner units of both sides, in matching order: paired, only the
    processes both sides have (the i-th beside the i-th); else each side's all."""
    a: list[float] = []
    b: list[float] = []
    for ua, ub in units:
        if paired:
            shared = min(len(ua.partners), len(ub.partners))
            a += ua.partners[:shared]
            b += ub.partners[:shared]
        else:
            a += ua.partners
            b += ub.partners
    return a, b
