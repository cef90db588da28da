"""Is a difference between two sides real?  Tests on independent units, corrected.

The units are worker processes (gilbench.analysis.intervals says why): each side of a
point gives one figure per process (its median batch time, or the median of its
per-pair speedups), never every pyperf value pooled (values inside one process share
its luck, so pooling them made two runs of the same thing differ "significantly" at a
quarter of their points).

The test is **Welch's t-test on the logarithms of those unit figures**
(``scipy.stats.ttest_ind(equal_var=False)``), with its 95 % interval of the ratio
(``exp`` of the interval of the difference of log means).  Why not Mann-Whitney: with
3 units a side its smallest two-sided p is 2 / C(6, 3) = 0.1, so a quick run could never
show a difference, however large.  Logarithms because speeds and speedups are ratios
(a 2x and a 0.5x change are the same size), and Welch because the two sides need not be
equally noisy.  Fewer than :data:`MIN_UNITS` units a side give no test (NaN).

Every p-value of one comparison is then adjusted together for the number of tests
(Benjamini-Hochberg, ``scipy.stats.false_discovery_control``), and a difference is
marked only when its adjusted p is below :data:`ALPHA` **and** the ratio is further
from 1 than the noise the runs measured themselves (:func:`beyond_noise`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
MIN_UNITS = 3
CONFIDENCE = 0.95
NAN = float("nan")


@dataclass(frozen=True)
class Difference:
    """B over A for one figure: the ratio of geometric means of the units, its
    interval, and the two-sided p-value (NaN where there are too few units)."""

    ratio: float
    low: float
    high: float
    p: float


def log_welch(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Welch's t-test of log(b) against log(a) (positive unit figures)."""
    if len(a) < MIN_UNITS or len(b) < MIN_UNITS:
        return Difference(NAN, NAN, NAN, NAN)
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    shift = float(lb.mean() - la.mean())
    if float(la.var()) == 0.0 and float(lb.var()) == 0.0:
        # No spread on either side: equal sides differ by nothing, unequal ones surely.
        ratio = math.exp(shift)
        return Difference(ratio, ratio, ratio, 1.0 if shift == 0 else 0.0)
    with warnings.catch_warnings():  # nearly equal units: scipy warns, the p stays right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(lb, la, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return Difference(
        math.exp(shift), math.exp(interval.low), math.exp(interval.high), float(result.pvalue)
    )


def log_paired(a: Sequence[float], b: Sequence[float]) -> Difference:
    """A paired t-test of log(b) - log(a), unit by unit: the two sides of an interleaved
    A/B run, whose i-th processes ran in the same minutes (gilbench.run.sides), so the
    machine's drift between rounds cancels in each difference.  NaN for fewer than
    :data:`MIN_UNITS` pairs or unequal sides."""
    if len(a) != len(b) or len(a) < MIN_UNITS:
        return Difference(NAN, NAN, NAN, NAN)
    diffs = np.log(np.asarray(b, dtype=float)) - np.log(np.asarray(a, dtype=float))
    shift = float(diffs.mean())
    if float(diffs.var()) == 0.0:
        ratio = math.exp(shift)
        return Difference(ratio, ratio, ratio, 1.0 if shift == 0 else 0.0)
    result = stats.ttest_1samp(diffs, 0.0)
    interval = result.confidence_interval(CONFIDENCE)
    return Difference(
        math.exp(shift), math.exp(interval.low), math.exp(interval.high), float(result.pvalue)
    )


#: A process whose quiet serial time is more than :data:`SLOWED_ABOVE` times its side's
#: :data:`REFERENCE` quantile was slowed by the host: slow spells are far slower, quiet
#: processes far closer, and the host may slow most of a side's processes, so the
#: reference sits low (docs/statistics.md, "The single-thread cost", has the figures).
SLOWED_ABOVE = 1.20
REFERENCE = 0.1


def quiet_bulk(times: Sequence[float]) -> list[float]:
    """``times`` without those above :data:`SLOWED_ABOVE` x their :data:`REFERENCE`
    quantile (on the log scale): each side against its own, so that a side slower
    throughout keeps its units."""
    if not times:
        return []
    logs = np.log(np.asarray(times, dtype=float))
    limit = float(np.quantile(logs, REFERENCE)) + math.log(SLOWED_ABOVE)
    return [t for t, x in zip(times, logs, strict=True) if x <= limit]


def quiet_shift(a: Sequence[float], b: Sequence[float]) -> Difference:
    """B over A for units of which the host slowed some (one workload's quiet serial
    times: gilbench.analysis.compare_units): Welch's t on the logs of each side's
    :func:`quiet_bulk`.  The kept units are taken as given; which ones are kept depends
    on a low quantile, so an A/A pair is flagged a little more often than the level says
    (docs/statistics.md, "The single-thread cost", measured it).  NaN for fewer than
    :data:`MIN_UNITS` kept units a side."""
    return log_welch(quiet_bulk(a), quiet_bulk(b))


def adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values over every test that has one (NaN stays)."""
    ps = np.asarray(p_values, dtype=float)
    out = np.full(len(ps), np.nan)
    known = ~np.isnan(ps)
    if known.any():
        out[known] = stats.false_discovery_control(ps[known], method="bh")
    return [float(p) for p in out]


def beyond_noise(ratio: float, floor: float) -> bool:
    """Whether ``ratio`` is further from 1 than ``floor`` (a relative half-width: 0.05
    for intervals about ±5 % wide) on the log scale; False without a floor."""
    if math.isnan(ratio) or math.isnan(floor) or ratio <= 0:
        return False
    return abs(math.log(ratio)) > math.log1p(floor)


def noise_floor(*intervals: tuple[float, float, float]) -> float:
    """The widest relative half-width of the ``(value, low, high)`` intervals the runs
    measured (NaN when any is missing: a side without an interval has no measured
    noise, and no difference is marked against it)."""
    widths = []
    for value, low, high in intervals:
        if any(math.isnan(x) for x in (value, low, high)) or value <= 0 or low <= 0:
            return NAN
        widths.append(max(math.log(high / value), math.log(value / low)))
    return math.expm1(max(widths)) if widths else NAN


def marked(p_adjusted: float, ratio: float, floor: float) -> bool:
    """A difference worth naming: significant after correction and beyond the noise."""
    return (not math.isnan(p_adjusted)) and p_adjusted < ALPHA and beyond_noise(ratio, floor)


def significance_mark(p: float) -> str:
    """'**' (p < 0.01), '*' (p < 0.05), 'not significant', or 'too few units' for a
    (corrected) p-value."""
    if math.isnan(p):
        return "too few units"
    if p < 0.01:
        return "**"
    return "*" if p < ALPHA else "not significant"
