"""Is a difference between two sets of pyperf values real?  The Mann-Whitney U test.

Benchmark times are skewed and have outliers, so a rank test suits them better than a
t-test; with the normal approximation (tie-corrected, with continuity correction) it
needs nothing beyond the standard library.  Fewer than 3 values on a side give no
answer (NaN): too few to tell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

ALPHA = 0.05
MIN_VALUES = 3


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value that ``a`` and ``b`` come from the same distribution."""
    n1, n2 = len(a), len(b)
    if n1 < MIN_VALUES or n2 < MIN_VALUES:
        return math.nan
    combined = [*a, *b]
    ranks = _ranks(combined)
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    counts: dict[float, int] = {}
    for value in combined:
        counts[value] = counts.get(value, 0) + 1
    ties = sum(t**3 - t for t in counts.values())
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of any difference
        return 1.0
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return min(1.0, 2 * (1 - NormalDist().cdf(max(z, 0.0))))


def significance_mark(p: float) -> str:
    """'**' (p < 0.01), '*' (p < 0.05), 'not significant', or 'too few values'."""
    if math.isnan(p):
        return "too few values"
    if p < 0.01:
        return "**"
    return "*" if p < ALPHA else "not significant"
