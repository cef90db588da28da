"""95 % confidence intervals on a point's headline figures, from its independent units.

**The unit is the pyperf worker process** (one pyperf run).  Values inside one process
share its luck: the pool it started, the CPUs it was given, the minute it ran in; two
processes of a point are minutes apart (one per round in the quick and default
profiles).  A speedup is the median of per-pair ratios (a backend batch over the serial
batch timed beside it: gilbench.analysis.paired) pooled over processes.

**Speedups: Student's t over the processes.**  Each process gives one number, the median
of its pair ratios; the interval is the speedup times exp(± t(0.975, m - 1) x s / sqrt(m)),
s being the standard deviation of the logs of those m per-process medians.  With the 3
processes of quick and default, no resampling can see how far apart processes fall
(docs/statistics.md, "Intervals over three processes"): the t interval is the one that
covers as often as it says.  compare tests the same units with Welch's t
(gilbench.analysis.significance).

**An interval is shown as measured, never cut.**  A pure-Python speedup cannot exceed
min(workers, cores) (gilbench.analysis.physics), but an interval that reaches past that
limit says how uncertain the point is, which is what a reader must see: it is kept whole
and marked (``speedup_ci_beyond_limit``), and the tables and figures mark it.

**Throughput: the same t interval over the processes**, on the logs of each process's
median batch time (a throughput is tasks over it, so the interval is tasks over the
time interval's ends).  The two-level bootstrap it replaced (resample the processes,
then the values within them: :func:`hierarchical_median_interval`, kept for reference)
cannot see the spread between processes from three of them either.  Points without
pairs (older files) estimate their speedup from per-round ratios: those rounds are the
units, and scipy.stats.bootstrap (percentile) gives the interval of their median.

Fewer than :data:`MIN_UNITS` units give no interval: the cells stay empty and a note
(``speedup_ci_note``, ``throughput_ci_note``) says how many units there were, never a
spread computed from two.

Columns: ``speedup_ci_low/high``, ``speedup_ci_beyond_limit`` (True where the speedup's
interval reaches past the physical limit), ``efficiency_ci_low/high`` and
``capacity_efficiency_ci_low/high`` (the speedup's interval over the same divisor as the
figure), ``throughput_ci_low/high``, ``ci_units`` (processes, or rounds for an unpaired
speedup), and the two notes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from gilbench.analysis.paired import delivered_capacity
from gilbench.analysis.physics import pinned_cpus, speedup_limit
from gilbench.analysis.rounds import paired_ratios
from gilbench.analysis.units import PointKey, PointUnits, units_of

CONFIDENCE = 0.95
MIN_UNITS = 3
RESAMPLES = 2000
SEED = 20260716
NAN = float("nan")

INTERVAL_COLUMNS = [
    "speedup_ci_low",
    "speedup_ci_high",
    "speedup_ci_beyond_limit",
    "efficiency_ci_low",
    "efficiency_ci_high",
    "capacity_efficiency_ci_low",
    "capacity_efficiency_ci_high",
    "throughput_ci_low",
    "throughput_ci_high",
    "ci_units",
    "speedup_ci_note",
    "throughput_ci_note",
]
SERIAL_NOTE = "the serial baseline: 1 by definition"


def too_few(units: int, what: str = "units") -> str:
    """The note for a figure without an interval."""
    return f"{units} {what}: not enough for an interval (at least {MIN_UNITS})"


def hierarchical_median_interval(
    groups: Sequence[Sequence[float]],
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """Percentile interval of the pooled median, resampling groups then values within
    each; (NaN, NaN) for fewer than :data:`MIN_UNITS` non-empty groups."""
    kept = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if len(kept) < MIN_UNITS:
        return NAN, NAN
    rng = np.random.default_rng(seed)
    sizes = np.array([len(g) for g in kept])
    width = int(sizes.max())
    table = np.full((len(kept), width), np.nan)
    for i, g in enumerate(kept):
        table[i, : len(g)] = g
    outer = rng.integers(0, len(kept), size=(resamples, len(kept)))
    chosen_sizes = sizes[outer]  # (B, m)
    inner = np.floor(rng.random((resamples, len(kept), width)) * chosen_sizes[..., None])
    drawn = table[outer[..., None], inner.astype(int)]  # (B, m, L)
    if (sizes == width).all():
        # Groups of one size (the usual case) leave no padding: the plain median gives
        # the same numbers several times faster than nanmedian.
        medians = np.median(drawn.reshape(resamples, -1), axis=1)
    else:
        drawn[np.arange(width)[None, None, :] >= chosen_sizes[..., None]] = np.nan
        medians = np.nanmedian(drawn.reshape(resamples, -1), axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def process_t_interval(
    groups: Sequence[Sequence[float]], estimate: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Student's t interval around ``estimate`` (a ratio) from the spread of the logs of
    each non-empty group's median (see the module docstring); (NaN, NaN) for fewer
    than :data:`MIN_UNITS` groups or a non-positive median or estimate."""
    medians = [float(np.median(g)) for g in groups if len(g)]
    if len(medians) < MIN_UNITS or min(medians) <= 0 or not estimate > 0:
        return NAN, NAN
    logs = np.log(medians)
    half = float(stats.t.ppf((1 + confidence) / 2, len(logs) - 1))
    half *= float(np.std(logs, ddof=1)) / math.sqrt(len(logs))
    return estimate * math.exp(-half), estimate * math.exp(half)


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """scipy's percentile bootstrap interval of the median of independent ``values``;
    (NaN, NaN) for fewer than :data:`MIN_UNITS`."""
    if len(values) < MIN_UNITS:
        return NAN, NAN
    if len(set(values)) == 1:
        return float(values[0]), float(values[0])
    result = stats.bootstrap(
        (np.asarray(values, dtype=float),),
        np.median,
        confidence_level=confidence,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _widened(estimate: float, low: float, high: float) -> tuple[float, float]:
    """The interval, stretched to hold its own estimate (a percentile interval of a
    median of few values can miss it by a hair)."""
    if math.isnan(low) or math.isnan(estimate):
        return low, high
    return min(low, estimate), max(high, estimate)


def _speedup_interval(
    row: Mapping[Hashable, Any],
    base: Mapping[Hashable, Any] | None,
    own: PointUnits,
    theirs: PointUnits,
) -> tuple[float, float, int, str]:
    """(low, high, units, note) of one row's speedup (``own`` its units, ``theirs`` its
    baseline's)."""
    if row.get("backend") == "serial":
        return NAN, NAN, 0, SERIAL_NOTE if pd.notna(row.get("speedup")) else ""
    ratios = own.ratios
    if ratios:
        low, high = process_t_interval(ratios, float(row["speedup"]))
        units = len(ratios)
        what = "processes with pairs"
    elif base is not None and own.round_medians and theirs.round_medians:
        per_round = paired_ratios(theirs.per_task(base["tasks"]), own.per_task(row["tasks"]))
        low, high = median_interval(per_round)
        units, what = len(per_round), "rounds"
    else:
        return NAN, NAN, 0, ""
    if math.isnan(low):
        return NAN, NAN, units, too_few(units, what)
    low, high = _widened(float(row["speedup"]), low, high)
    return low, high, units, ""


#: The throughput note of a latency point, whose values are single requests' latencies.
LATENCY_NOTE = "a latency point: its percentiles carry the intervals (p50_ms_ci_low ...)"


def _throughput_interval(
    row: Mapping[Hashable, Any], groups: Sequence[Sequence[float]]
) -> tuple[float, float, str]:
    """(low, high, note) of one row's throughput, from each process's values."""
    if row.get("load_in"):
        # No throughput to bound: a value is one request's latency on an open-loop
        # schedule.  (Bootstrapping its hundreds of values was a fifth of a report's time.)
        return NAN, NAN, LATENCY_NOTE
    if not groups:
        return NAN, NAN, ""
    median_s = float(row["tasks"]) / float(row["throughput"])
    low_s, high_s = process_t_interval(groups, median_s)
    if math.isnan(low_s):
        return NAN, NAN, too_few(len(groups), "processes")
    tasks = float(row["tasks"])
    low, high = tasks / high_s, tasks / low_s
    low, high = _widened(float(row["throughput"]), low, high)
    return low, high, ""


def _limits(out: pd.DataFrame) -> list[float]:
    """Each row's physical speedup limit (gilbench.analysis.physics.speedup_limit);
    none (infinity) where the table does not say the kind."""
    empty = pd.Series("", index=out.index)
    kinds, cpu_lists = out.get("kind", empty), out.get("cpu_list", empty)
    return [
        speedup_limit(str(kind), int(workers), pinned_cpus(cpu_list, int(cores)))
        for kind, workers, cores, cpu_list in zip(
            kinds, out["workers"], out["cores"], cpu_lists, strict=True
        )
    ]


def add_intervals(
    out: pd.DataFrame,
    baselines: Sequence[Mapping[Hashable, Any] | None],
    units: Mapping[PointKey, PointUnits] | None = None,
) -> pd.DataFrame:
    """Add :data:`INTERVAL_COLUMNS` to the tidy table (after its speedups, efficiencies
    and throughputs exist; ``baselines`` from gilbench.analysis.baselines, ``units`` from
    gilbench.analysis.units.by_point).  In place."""
    found = units or {}
    speed, thru = [], []
    for row, base in zip(out.to_dict("records"), baselines, strict=True):
        own = units_of(row, found)
        speed.append(_speedup_interval(row, base, own, units_of(base, found)))
        thru.append(_throughput_interval(row, own.values))
    out["speedup_ci_low"] = [s[0] for s in speed]
    out["speedup_ci_high"] = [s[1] for s in speed]  # as measured: never cut at the limit
    out["speedup_ci_beyond_limit"] = [
        bool(high > limit)  # NaN compares False: no interval, nothing beyond
        for high, limit in zip(out["speedup_ci_high"], _limits(out), strict=True)
    ]
    out["ci_units"] = pd.array([s[2] for s in speed], dtype="Int64")
    out["speedup_ci_note"] = [s[3] for s in speed]
    out["throughput_ci_low"] = [t[0] for t in thru]
    out["throughput_ci_high"] = [t[1] for t in thru]
    out["throughput_ci_note"] = [t[2] for t in thru]
    parallelism = out[["workers", "cores"]].min(axis=1).clip(lower=1)
    delivered = delivered_capacity(out)  # as capacity_efficiency itself divides
    usable = out[["workers"]].assign(capacity=delivered).min(axis=1, skipna=False)
    usable = usable.where(usable > 0)
    for name, divisor in (("efficiency", parallelism), ("capacity_efficiency", usable)):
        out[f"{name}_ci_low"] = out["speedup_ci_low"] / divisor
        out[f"{name}_ci_high"] = out["speedup_ci_high"] / divisor
    return out


#: The mark of a speedup interval that reaches past the physical limit (shown whole).
BEYOND_MARK = "\u2020"


def is_beyond(flag: object) -> bool:
    """Whether a ``speedup_ci_beyond_limit`` cell says yes (numpy's bool too; NaN: no)."""
    return isinstance(flag, bool | np.bool_) and bool(flag)


def beyond_mark(row: Mapping[Hashable, Any] | pd.Series) -> str:
    """:data:`BEYOND_MARK` for a row whose speedup interval reaches past its limit."""
    return BEYOND_MARK if is_beyond(row.get("speedup_ci_beyond_limit")) else ""


def interval_text(
    value: float, low: float | None, high: float | None, digits: int = 2, unit: str = ""
) -> str:
    """``1.71x [1.62, 1.80]``; the value alone where there is no interval."""
    if value is None or pd.isna(value):
        return "–"
    text = f"{value:.{digits}f}{unit}"
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return text
    return f"{text} [{low:.{digits}f}, {high:.{digits}f}]"
