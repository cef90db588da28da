"""Rounds and pairs: a point's values grouped by the interleaved pass that measured them,
the per-round ratios an old file's speedup is estimated from, and the per-pair ratios a
new one's is (each backend batch divided into its serial partner, measured beside it in
the same worker: gilbench.measure.pairs).

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


def run_pair_ratios(run: pyperf.Run) -> list[float]:
    """serial partner / backend batch for each timed value of one run ([] for a run
    without partners, or whose partners do not match its values one to one)."""
    text = run.get_metadata().get("paired_serial_s")
    if not isinstance(text, str) or not run.values:
        return []
    try:
        partners = [float(item) for item in text.split()]
    except ValueError:
        return []
    if len(partners) != len(run.values):
        return []
    return [s / v for s, v in zip(partners, run.values, strict=True) if s > 0 and v > 0]


def pair_ratios(bench: pyperf.Benchmark) -> dict[int, list[float]]:
    """Per-pair ratios (serial partner / backend batch) of every run, by round (rounds
    without pairs are left out: the dict is empty for a point measured without them)."""
    by_round: dict[int, list[float]] = {}
    for run in bench.get_runs():
        ratios = run_pair_ratios(run)
        if ratios:
            round_number = run.get_metadata().get("round", 1)
            by_round.setdefault(round_number if isinstance(round_number, int) else 1, []).extend(
                ratios
            )
    return dict(sorted(by_round.items()))


def process_sway(bench: pyperf.Benchmark) -> float:
    """How far the speedup (the median of every per-pair ratio) moves when any one
    process's pairs are left out, over the speedup: the most a single pyperf process
    decides (inf for fewer than two processes with pairs).

    On a shared host a process can run its parallel batches in a slow or fast mode for
    its whole life (its pairs agree with each other, not with the other processes'):
    with three processes, the median then reads whichever mode two of them landed in,
    and two runs of the same point can disagree by 10 to 20 %.  A point whose speedup
    one process decides needs more processes, not more pairs (gilbench.run.settle).
    """
    per_process = [r for r in (run_pair_ratios(run) for run in bench.get_runs()) if r]
    if len(per_process) < 2:
        return math.inf
    whole = statistics.median(r for ratios in per_process for r in ratios)
    return max(
        abs(statistics.median(r for j, ratios in enumerate(per_process) if j != i for r in ratios)
            / whole - 1)
        for i in range(len(per_process))
    )  # fmt: skip


def ratio_spread(ratios: Iterable[float]) -> float:
    """Median absolute deviation of the ratios over their median (inf for fewer than 2):
    how far a typical round is from the speedup the rounds agree on."""
    values = list(ratios)
    if len(values) < 2:
        return math.inf
    middle = statistics.median(values)
    return statistics.median(abs(v - middle) for v in values) / middle
