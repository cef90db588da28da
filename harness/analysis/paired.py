"""The tidy table's columns from time-paired batches, capacity and shares (schema 3).

Per point (one pyperf benchmark), from its runs' metadata (gilbench.measure.run_facts):

- ``pairs``: how many backend batches had a serial partner, over every process and
  round; ``paired_rounds``: how many rounds had any.
- ``speedup_sway``: how far the speedup moves when any one process's pairs are left
  out, over the speedup (gilbench.analysis.rounds.process_sway; NaN for fewer than two
  processes with pairs): how much a single process decides it.  Settling gives a
  headline point more processes while it is above the profile's ``sway_tolerance``.
- ``speedup`` (where pairs exist): the **median of the per-pair ratios** (partner's
  serial time / backend time).  The median, not a ratio of means: a pair disturbed by a
  burst of someone else's work is one outlier among many, not a shift of the estimate.
  ``speedup_spread`` is then the pairs' spread: the median absolute deviation of the
  per-pair ratios over their median.
- ``baseline_speedup``: the old estimate, the separately measured serial point over this
  point (per round where both have rounds), kept as a cross-check
  (gilbench.analysis.noise.baseline_warnings).  Points without pairs (serial points, old
  files) keep it as their ``speedup`` too.
- ``capacity``: the median over the point's runs of the pinned CPUs' capacity in cores
  (gilbench.measure.capacity, a hashing kernel on threads); ``capacity_python``: likewise
  for pure Python (gilbench.measure.python_capacity: a pure-Python loop in one process
  per pinned CPU, against an average pinned CPU alone); ``capacity_efficiency`` =
  speedup / min(workers, capacity), with ``capacity_python`` for pure-Python points
  where it was measured: each against what the CPUs could deliver to that kind of work.
- ``cpu_speed_ratio``: the median over the point's runs of the fastest pinned CPU's
  pure-Python speed over the slowest's, each timed alone (NaN on one CPU or in older
  files): well above 1, a speedup against one CPU depends on which CPU the serial work
  ran on (gilbench.analysis.noise.speed_warnings).
- ``share_running``, ``share_runqueue``, ``share_blocked``: the workers' time during the
  timed batches (gilbench.measure.shares), the runs weighted by their timed wall time;
  ``shares_excess`` the largest clipped excess of running + runqueue over the total.
- ``share_tail``: the share of the usable pool workers idle while each batch's last
  tasks finished (gilbench.measure.tail), the runs weighted by their timed wall time.
- ``timed_s``: seconds inside timed batches, backend and serial partners, over the
  point's runs (the share of a run's wall time spent measuring: gilbench.selfcheck.selfbench).

Files written before schema 3 have none of these: the columns are NaN (0 pairs).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyperf

from gilbench.analysis.rounds import pair_ratios, process_sway, ratio_spread
from gilbench.analysis.units import NO_UNITS, PointKey, PointUnits, keys_of
from gilbench.vocabulary import PURE_PYTHON_KIND

#: The columns this module adds to the tidy table, in their order.
PAIR_COLUMNS = [
    "baseline_speedup",
    "pairs",
    "paired_rounds",
    "speedup_sway",
    "capacity",
    "capacity_python",
    "capacity_efficiency",
    "cpu_speed_ratio",
    "share_running",
    "share_runqueue",
    "share_blocked",
    "shares_excess",
    "share_tail",
    "timed_s",
]
SHARE_KEYS = ("share_running", "share_runqueue", "share_blocked")
NAN = float("nan")


def _number(meta: dict[str, Any], key: str) -> float:
    value = meta.get(key)
    return float(value) if isinstance(value, int | float) else NAN


def _weighted(values: list[tuple[float, float]]) -> float:
    """The mean of ``(value, weight)`` pairs, weighted; NaN when any value is unknown
    (a share measured with the fallback in one run is not comparable with another's)."""
    if not values or any(math.isnan(v) for v, _ in values):
        return NAN
    weight = sum(w for _, w in values)
    if weight <= 0:
        return statistics.mean(v for v, _ in values)
    return sum(v * w for v, w in values) / weight


def pair_facts(bench: pyperf.Benchmark) -> dict[str, Any]:
    """The per-benchmark part of the columns above (the ratios themselves are the units
    table's, gilbench.analysis.units)."""
    by_round = pair_ratios(bench)
    ratios = [r for values in by_round.values() for r in values]
    runs = [run.get_metadata() for run in bench.get_runs() if run.values]
    capacities = [c for c in (_number(m, "capacity") for m in runs) if not math.isnan(c)]
    speed_ratios = [r for r in (_number(m, "cpu_speed_ratio") for m in runs) if not math.isnan(r)]
    python = [c for c in (_number(m, "capacity_python") for m in runs) if not math.isnan(c)]
    weights = [_number(m, "timed_wall_s") for m in runs]
    weights = [0.0 if math.isnan(w) else w for w in weights]
    shares = {
        key: _weighted([(_number(m, key), w) for m, w in zip(runs, weights, strict=True)])
        for key in SHARE_KEYS
    }
    excess = [e for e in (_number(m, "shares_excess") for m in runs) if not math.isnan(e)]
    tails = [(t, w) for t, w in ((_number(m, "share_tail"), w) for m, w in zip(runs, weights,
             strict=True)) if not math.isnan(t)]  # fmt: skip
    timed = [t for t in (_number(m, "timed_s") for m in runs) if not math.isnan(t)]
    sway = process_sway(bench) if ratios else NAN
    return {
        "pairs": len(ratios),
        "paired_rounds": len(by_round),
        "speedup_sway": sway if math.isfinite(sway) else NAN,
        "capacity": statistics.median(capacities) if capacities else NAN,
        "cpu_speed_ratio": statistics.median(speed_ratios) if speed_ratios else NAN,
        "capacity_python": statistics.median(python) if python else NAN,
        **shares,
        "shares_excess": max(excess) if excess else NAN,
        "share_tail": _weighted(tails) if tails else NAN,
        "timed_s": sum(timed) if timed else NAN,
    }


def paired_estimate(ratios: list[float]) -> tuple[float, float]:
    """(speedup, spread) from per-pair ratios: their median, and their median absolute
    deviation over the median (NaN for fewer than two pairs); (NaN, NaN) for none."""
    if not ratios:
        return NAN, NAN
    return statistics.median(ratios), ratio_spread(ratios) if len(ratios) > 1 else NAN


def add_paired(
    out: pd.DataFrame, units: Mapping[PointKey, PointUnits] | None = None
) -> pd.DataFrame:
    """Replace ``speedup`` and ``speedup_spread`` (the baseline estimates, computed
    before) by the pairs' where a row has pairs in ``units``; keep the baseline one as
    ``baseline_speedup``; add ``capacity_efficiency``.  In place, and returned."""
    out["baseline_speedup"] = out["speedup"]
    found = units or {}
    ratios = [found.get(key, NO_UNITS).pair_ratios for key in keys_of(out)]
    estimates = [paired_estimate(r) for r in ratios]
    paired = pd.Series([bool(r) for r in ratios], index=out.index)
    speedups = pd.Series([s for s, _ in estimates], index=out.index, dtype=float)
    spreads = pd.Series([d for _, d in estimates], index=out.index, dtype=float)
    out["speedup"] = speedups.where(paired, out["speedup"])
    out["speedup_spread"] = spreads.where(paired, out["speedup_spread"])
    for column in PAIR_COLUMNS:
        if column not in out:
            out[column] = NAN
    out["pairs"] = out["pairs"].fillna(0).astype(int)
    out["paired_rounds"] = out["paired_rounds"].fillna(0).astype(int)
    usable = out[["workers"]].assign(capacity=delivered_capacity(out)).min(axis=1, skipna=False)
    out["capacity_efficiency"] = out["speedup"] / usable.where(usable > 0)
    return out


def delivered_capacity(frame: pd.DataFrame) -> pd.Series:
    """Per row, what its pinned CPUs could deliver to its kind of work, in cores: the
    pure-Python capacity for pure-Python points where it was measured, else the hashing
    one (a pure-Python loop on two vCPUs that share a physical core runs at a fraction
    of two cores' worth while hashing nearly doubles: docs/method.md)."""
    capacity = frame["capacity"] if "capacity" in frame else pd.Series(NAN, frame.index)
    if "capacity_python" not in frame:
        return capacity.astype(float)
    return frame["capacity_python"].where(uses_python_capacity(frame), capacity).astype(float)


def uses_python_capacity(frame: pd.DataFrame) -> pd.Series:
    """Per row, whether :func:`delivered_capacity` is its pure-Python capacity."""
    if "capacity_python" not in frame or "kind" not in frame:
        return pd.Series(False, frame.index)
    return (frame["kind"] == PURE_PYTHON_KIND) & frame["capacity_python"].notna()
