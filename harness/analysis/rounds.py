"""Rounds: a point's values grouped by the interleaved pass that measured them, and the
per-round ratios a speedup is estimated from.

Pure logic on pyperf benchmarks; no pandas.  Used by the tidy table (speedups and their
spread) and by settling (gilbench.run.settle), which decides from them which points
need more rounds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping

import pyperf


def values_by_round(bench: pyperf.Benchmark) -> dict[int, list[float]]:
    """A benchmark's values grouped by round (runs carry a ``round`` metadata key; runs
    without one are round 1)."""
    by_round: dict[int, list[float]] = {}
    for run in bench.get_runs():
        if run.values:
            round_number = run.get_metadata().get("round", 1)
            if not isinstance(round_number, int):
                raise ValueError(f"round {round_number!r} is not an integer")
            by_round.setdefault(round_number, []).extend(run.values)
    return dict(sorted(by_round.items()))


def round_medians(bench: pyperf.Benchmark) -> dict[int, float]:
    """The median value of each round."""
    return {r: statistics.median(values) for r, values in values_by_round(bench).items()}


def paired_ratios(serial: Mapping[int, float], point: Mapping[int, float]) -> list[float]:
    """serial time / point time for every round both were measured in."""
    return [serial[r] / point[r] for r in sorted(set(serial) & set(point))]


def ratio_spread(ratios: Iterable[float]) -> float:
    """Median absolute deviation of the ratios over their median (inf for fewer than 2):
    how far a typical round is from the speedup the rounds agree on."""
    values = list(ratios)
    if len(values) < 2:
        return math.inf
    middle = statistics.median(values)
    return statistics.median(abs(v - middle) for v in values) / middle
