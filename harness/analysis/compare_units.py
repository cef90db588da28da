"""The independent units a comparison tests, and one workload's single-thread speed read
from every process that ran its tasks serially.

A point's units are its worker processes (docs/statistics.md, "Units"): per process, its
median batch time, its median per-pair speedup and, for a latency point, its 90th
percentile.  Every throughput point also ran the workload's tasks serially in each of its
processes: the serial point its batches, every other point its serial partners.  Each
such process records its serial work's time per task at its quietest
(``serial_quiet_s``: gilbench.measure.run_facts), and between two sides all of a
workload's processes, at every core count, measure one thing, how fast the interpreter runs
its tasks on one quiet CPU.  They are pooled into one comparison, **serial (quiet)**:
every process a unit; each side's processes the host slowed are set aside
(gilbench.analysis.significance.quiet_bulk) and the rest compared by Welch's t.

Why not the serial point alone: it has 3 processes a side in quick, and a shared host
slows a CPU for spells of up to seconds, so a process's serial time is its interpreter's
or far slower (docs/method.md, "Quiet speed", has the figures).  An interpreter's single-thread cost
(3.14t against 3.14, a few percent) is a shift of the quiet bulk; a slowed process is an
outlier far above it that moves a mean, a paired difference whichever side it hit, and a
rank test when the two sides drew unequal numbers of them.  Why unpaired: a slow spell is
shorter than the seconds between the i-th process of A and of B, so pairing them removes
nothing.  Result files without ``serial_quiet_s`` fall back on each process's median
partner time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyperf

from gilbench.analysis.power import pooled_log_sd
from gilbench.analysis.rounds import run_pair_ratios
from gilbench.analysis.significance import quiet_bulk, quiet_shift

#: The backend label of the rows that pool every serial process of a workload.
QUIET_LABEL = "serial (quiet)"


@dataclass(frozen=True)
class Units:
    """One point's independent units: per process, its median batch time, its median
    per-pair speedup (processes without pairs give none), its 90th percentile of request
    latency (latency points only), its median serial partner time per task (processes
    with pairs only) and its serial work's quiet time per task (``serial_quiet_s``)."""

    times: list[float]
    speedups: list[float]
    p90s: list[float]
    partners: list[float] = field(default_factory=list)
    quiet: list[float] = field(default_factory=list)


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
    quiet = (run.get_metadata().get("serial_quiet_s") for run in runs)
    return Units(
        [statistics.median(run.values) for run in runs],
        [statistics.median(r) for r in ratios if r],
        [float(np.percentile(run.values, 90)) for run in runs] if latency else [],
        [p for p in partners if p is not None],
        [float(q) for q in quiet if isinstance(q, (int, float)) and q > 0],
    )


def serial_groups(
    rows: Iterable[dict[Hashable, Any]], group: list[str]
) -> dict[tuple[Any, ...], list[dict[Hashable, Any]]]:
    """The merged throughput rows (both sides of a point), by ``group`` (the workload,
    its params and what else two sides are matched on, but not the backend or the
    workers): each group's processes all ran its tasks serially."""
    found: dict[tuple[Any, ...], list[dict[Hashable, Any]]] = {}
    for row in rows:
        if not row.get("load_in"):
            found.setdefault(tuple(row[c] for c in group), []).append(row)
    return found


def pooled_serial(units: list[tuple[Units, Units]]) -> tuple[list[float], list[float]]:
    """Every process's quiet serial time per task, each side's; where neither side's
    files have any (written before ``serial_quiet_s``), every process's median partner
    time."""
    if any(u.quiet for pair in units for u in pair):
        return [q for ua, _ in units for q in ua.quiet], [q for _, ub in units for q in ub.quiet]
    return [q for ua, _ in units for q in ua.partners], [q for _, ub in units for q in ub.partners]


def quiet_row(units: list[tuple[Units, Units]], first: dict[Hashable, Any]) -> dict[str, Any]:
    """The **serial (quiet)** row of one workload, over every core count (``first`` is
    one of its merged rows): B's serial speed over A's over each side's quiet bulk
    (gilbench.analysis.significance.quiet_shift), with how many processes were set aside
    as slowed; empty with too few units.  ``_sd`` is the spread of the
    kept units' logs, from which what the row could have found is said like any row's."""
    units_a, units_b = pooled_serial(units)
    slower = quiet_shift(units_a, units_b)
    if math.isnan(slower.p):
        return {}
    kept_a, kept_b = quiet_bulk(units_a), quiet_bulk(units_b)
    total = len(units_a) + len(units_b)
    return {
        "workload": f"{first['workload']}({first['params']})", "backend": QUIET_LABEL,
        "workers": 1,
        "A tasks/s": 1 / statistics.median(kept_a), "B tasks/s": 1 / statistics.median(kept_b),
        "compared": f"quiet serial speed ({total - len(kept_a) - len(kept_b)} of {total} "
                    f"set aside as slowed)",
        "B/A": 1 / slower.ratio, "B/A low": 1 / slower.high, "B/A high": 1 / slower.low,
        "p": slower.p, "_sd": pooled_log_sd(kept_a, kept_b),
        "_units": (len(kept_a), len(kept_b)), "_paired": False,
        "_speedup_floor": math.nan, "_speedup_sd": math.nan, "_speedup_units": (0, 0),
    }  # fmt: skip
