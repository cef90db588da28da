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

import numpy as np
from scipy import stats

from gilbench.analysis.significance import ALPHA, adjust, beyond_noise, log_welch

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
    units_a: int, units_b: int, log_sd: float, level: float = ALPHA, power: float = POWER
) -> float:
    """The smallest relative change (B/A - 1) flagged with probability ``power`` at the
    two-sided ``level`` (see the module docstring); NaN without enough units or spread."""
    if units_a < 2 or units_b < 2 or math.isnan(log_sd) or not 0 < level < 1:
        return math.nan
    dof = units_a + units_b - 2
    margin = float(stats.t.ppf(1 - level / 2, dof) + stats.t.ppf(power, dof))
    return math.expm1(margin * log_sd * math.sqrt(1 / units_a + 1 / units_b))


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
    point tested with Welch on the logs, Benjamini-Hochberg over all of them, and a
    ratio further from 1 than ``floor`` needed."""
    rng = np.random.default_rng(seed)
    found = 0
    false = 0.0
    for _ in range(trials):
        a = rng.normal(0.0, spread, (points, units))
        b = rng.normal(0.0, spread, (points, units))
        b[0] += math.log1p(change)
        tests = [log_welch(np.exp(a[i]).tolist(), np.exp(b[i]).tolist()) for i in range(points)]
        adjusted = adjust([t.p for t in tests])
        flagged = [
            p < ALPHA and beyond_noise(t.ratio, floor) for p, t in zip(adjusted, tests, strict=True)
        ]
        found += flagged[0]
        false += sum(flagged[1:]) / (points - 1)
    return found / trials, false / trials
