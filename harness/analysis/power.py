"""What a comparison could have found: the smallest change its test flags, and how often.

A "no difference" means something only beside the smallest difference the comparison
could have flagged.  For one point, Welch's t on the logs of each side's per-process
figures (gilbench.analysis.significance) flags a change of log size d with probability
about ``power`` when

    |d| >= (t(1 - a / 2, df) + t(power, df)) x s x sqrt(1 / n_a + 1 / n_b)

s being the pooled standard deviation of the logs, n_a and n_b the processes, and a the
level the point's p-value must reach after the correction for the number of points
compared.  Benjamini-Hochberg at level q flags a *single* changed point among m only
when its p is below q / m, so that is the level used: the worst case, the one that
matters when one workload regressed.  The smallest detectable change is then
``exp(d) - 1`` (:func:`detectable_change`), in percent in ``compare --format csv``
(``detectable_pct``) and summarised at the top of the text.

:func:`detection_rate` checks the rule by simulation: points of ``units`` processes a
side with the given spread, one changed by a known factor among ``points``, the
comparison's own rule applied (docs/statistics.md, "What a comparison can find").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import stats

from gilbench.analysis.significance import ALPHA, quiet_bulk, quiet_shift

#: The power a detectable change is quoted at.
POWER = 0.8


def pooled_log_sd(a: list[float], b: list[float]) -> float:
    """The pooled standard deviation of the logs of two sides' unit figures (NaN for
    fewer than two units a side or a non-positive figure)."""
    if len(a) < 2 or len(b) < 2 or min(a + b) <= 0:
        return math.nan
    la, lb = np.log(a), np.log(b)
    dof = len(a) + len(b) - 2
    return math.sqrt(
        (float(np.var(la, ddof=1)) * (len(a) - 1) + float(np.var(lb, ddof=1)) * (len(b) - 1)) / dof
    )


def detectable_change(
    units_a: int,
    units_b: int,
    log_sd: float,
    level: float = ALPHA,
    power: float = POWER,
    *,
    paired: bool = False,
) -> float:
    """The smallest relative change (B/A - 1) flagged with probability ``power`` at the
    two-sided ``level`` (see the module docstring); NaN without enough units or spread.
    ``paired``: ``log_sd`` is the spread of the pairs' log differences, and the test the
    paired one of interleaved sides (n - 1 degrees of freedom, standard error sd / sqrt n)."""
    if units_a < 2 or units_b < 2 or math.isnan(log_sd) or not 0 < level < 1:
        return math.nan
    if paired:
        dof, error = units_a - 1, log_sd / math.sqrt(units_a)
    else:
        dof, error = units_a + units_b - 2, log_sd * math.sqrt(1 / units_a + 1 / units_b)
    margin = float(stats.t.ppf(1 - level / 2, dof) + stats.t.ppf(power, dof))
    return math.expm1(margin * error)


def paired_log_sd(a: list[float], b: list[float]) -> float:
    """The standard deviation of the pairs' log differences (NaN for fewer than two pairs,
    unequal sides or a non-positive figure)."""
    if len(a) != len(b) or len(a) < 2 or min(a + b) <= 0:
        return math.nan
    return float(np.std(np.log(b) - np.log(a), ddof=1))


def detection_rate(
    change: float,
    *,
    units: int,
    spread: float,
    points: int = 100,
    floor: float = 0.0,
    trials: int = 300,
    seed: int = 24,
) -> tuple[float, float]:
    """(share of trials whose changed point was flagged, mean share of the unchanged
    points flagged): ``points`` points of ``units`` processes a side, each process's log
    figure drawn with sd ``spread``, one point's B side scaled by ``1 + change``, every
    point tested with Welch's t on the logs (as gilbench.analysis.significance.log_welch,
    vectorised), Benjamini-Hochberg over all of them, and a ratio further from 1 than
    ``floor`` needed."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, spread, (trials, points, units))
    b = rng.normal(0.0, spread, (trials, points, units))
    b[:, 0, :] += math.log1p(change)
    p = stats.ttest_ind(b, a, axis=2, equal_var=False).pvalue
    adjusted = stats.false_discovery_control(p, axis=1, method="bh")
    shift = np.abs(b.mean(axis=2) - a.mean(axis=2))
    flagged = (adjusted < ALPHA) & (shift > math.log1p(floor))
    return float(flagged[:, 0].mean()), float(flagged[:, 1:].mean())


def detection_table(
    changes: tuple[float, ...] = (0.05, 0.10, 0.20),
    units: tuple[int, ...] = (3, 6, 12),
    spread: float = 0.04,
    points: int = 100,
    trials: int = 300,
) -> list[tuple[int, list[float], float]]:
    """Per units a side: the detection rate of each change, and the A/A false rate."""
    rows = []
    for n in units:
        rates = [detection_rate(c, units=n, spread=spread, points=points, trials=trials)
                 for c in changes]  # fmt: skip
        rows.append((n, [found for found, _ in rates], max(false for _, false in rates)))
    return rows


#: Processes a side :func:`processes_needed` tries, in order.
PROCESS_CANDIDATES = (6, 12, 24, 36, 48, 72, 96)


def processes_needed(
    change: float,
    spread: float,
    *,
    rate: float = POWER,
    candidates: tuple[int, ...] = PROCESS_CANDIDATES,
    points: int = 100,
    trials: int = 300,
) -> int | None:
    """The fewest processes a side, of ``candidates``, at which a single point changed by
    ``change`` among ``points`` is found at least ``rate`` of the time at this process
    ``spread`` (:func:`detection_rate`); None if none of them is enough.  The spread
    differs from host to host and from day to day, so the number a comparison needs is
    the day's, not a constant."""
    if math.isnan(spread):
        return None
    for n in candidates:
        found, _ = detection_rate(change, units=n, spread=spread, points=points, trials=trials)
        if found >= rate:
            return n
    return None


def observed_spread(units: Iterable[list[float]]) -> float:
    """The median, over points with at least three processes, of the standard deviation
    of the logs of their per-process figures: the spread a run's processes show, which
    :func:`detection_rate` simulates (NaN for no such point)."""
    spreads = [float(np.std(np.log(u), ddof=1)) for u in units if len(u) >= 3 and min(u) > 0]
    return float(np.median(spreads)) if spreads else math.nan


def quiet_detection_rate(
    change: float,
    *,
    units: int,
    spread: float,
    slowed: float,
    slowdown: float = 1.5,
    tests: int = 50,
    floor: float = 0.0,
    trials: int = 400,
    seed: int = 24,
) -> tuple[float, float]:
    """(share of trials that flag a single-thread cost of ``change``, share that flag an
    A/A pair) for a **serial (quiet)** row (gilbench.analysis.compare_units): ``units``
    processes a side whose quiet figures spread by ``spread`` (log sd), each slowed by
    ``slowdown`` with probability ``slowed`` (the host's slow spells), each side's slowed
    ones set aside and the rest compared by Welch (gilbench.analysis.significance.
    quiet_shift), at the level one changed test among ``tests`` must reach (as
    :func:`detectable_change`)."""
    rng = np.random.default_rng(seed)
    found = [0, 0]
    for _ in range(trials):
        for index, shift in enumerate((change, 0.0)):
            sides = []
            for extra in (0.0, math.log1p(shift)):
                logs = rng.normal(extra, spread, units)
                logs += np.where(rng.random(units) < slowed, math.log(slowdown), 0.0)
                sides.append(list(np.exp(logs)))
            result = quiet_shift(sides[0], sides[1])
            hit = result.p < ALPHA / tests and abs(math.log(result.ratio)) > math.log1p(floor)
            found[index] += int(hit)
    return found[0] / trials, found[1] / trials


def observed_quiet(units: Iterable[list[float]]) -> tuple[float, float, int]:
    """(share of units set aside as slowed, median spread of the kept units' logs, median
    units a workload) over the workloads' pooled quiet serial times: what
    :func:`quiet_detection_rate` simulates (NaNs and 0 for no workload with 6 units)."""
    slowed, spreads, counts = [], [], []
    for times in units:
        if len(times) < 6 or min(times) <= 0:
            continue
        kept = quiet_bulk(times)
        slowed.append(1 - len(kept) / len(times))
        counts.append(len(times))
        if len(kept) >= 3:
            spreads.append(float(np.std(np.log(kept), ddof=1)))
    if not counts:
        return math.nan, math.nan, 0
    spread = float(np.median(spreads)) if spreads else math.nan
    return float(np.median(slowed)), spread, int(np.median(counts))
