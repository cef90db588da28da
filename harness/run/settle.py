"""Settling speedups: which points need more rounds before their speedup can be trusted.

A speedup is the median, over rounds, of the serial baseline's round median divided by
the point's (``paired_ratios``).  On a shared machine a burst of someone else's work can
slow one round of one point by a third; with two rounds that moves its speedup by a
sixth, so two runs of the same profile can disagree by 30 %.  More rounds everywhere
would cost every point what only a few need.  Instead, after the profile's rounds, the
points that the verdicts and headlines rest on (throughput kinds at the highest core
count, with at least as many workers as cores) get extra rounds while their per-round
ratios disagree: each extra round measures the serial baseline and the point back to
back, and the median over the rounds then sets a burst aside.  A point is settled when
the median absolute deviation of its ratios is within the profile's tolerance of their
median; one that is not settled after the profile's extra rounds is reported as such.

Since schema 3, a point's speedup comes from time-paired batches (gilbench.measure.pairs:
each backend batch has a serial partner measured beside it), and pairs replace most of
what settling did: a burst now disturbs one pair, which the median of the per-pair
ratios sets aside, instead of a whole round.  What pairs cannot set aside is a whole
process in a slow or fast mode (gilbench.analysis.rounds.process_sway): then one of
three processes decides the speedup.  So settling now reads, for a point with pairs,
the *pairs'* spread (median absolute deviation of the per-pair ratios over their
median) against ``settle_tolerance`` and the process sway against ``sway_tolerance``,
and an extra round of such a point is one more process of that point alone (its pairs
carry their own serial partners: the serial baseline is not measured again).  Points
go the worst first, so a run whose settling time runs out has spent it where it
mattered most.

Pure logic on pyperf benchmarks and matrix points; no pandas.  The statistics over
rounds live in gilbench.analysis.rounds, shared with the tidy table.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyperf

from gilbench.analysis.physics import speedup_limit, speedup_reason
from gilbench.analysis.rounds import (
    pair_ratios,
    paired_ratios,
    process_sway,
    ratio_spread,
    round_medians,
)
from gilbench.vocabulary import HEADLINE_KINDS, PURE_PYTHON_KIND, Point, is_headline


@dataclass(frozen=True)
class SettleGroup:
    """A serial baseline and the points whose speedups against it are headlines."""

    baseline: Point
    points: tuple[Point, ...]


def _baseline_key(point: Point) -> tuple[object, ...]:
    # Not the batch: a pool point's grows with its workers (gilbench.run.matrix.batch_tasks).
    return (point.workload, point.params_text, point.cores, point.gil_requested)


def _top_cores(points: Sequence[Point]) -> dict[tuple[str, str], int]:
    """The highest core count of each workload (with its parameters) in a matrix."""
    top: dict[tuple[str, str], int] = {}
    for point in points:
        key = (point.workload, point.params_text)
        top[key] = max(top.get(key, 0), point.cores)
    return top


def headline_names(points: Sequence[Point], kind_of: Callable[[str], str]) -> frozenset[str]:
    """The names of a matrix's headline points (gilbench.vocabulary.is_headline), which
    a profile may give more values (``headline_values``)."""
    top = _top_cores(points)
    return frozenset(
        point.name
        for point in points
        if is_headline(
            kind_of(point.workload),
            point.backend,
            point.workers,
            point.cores,
            top[(point.workload, point.params_text)],
        )
    )


def reference_names(points: Sequence[Point], kind_of: Callable[[str], str]) -> frozenset[str]:
    """The names of a matrix's one-worker pool points of pure-Python work at the highest
    core count: the reference's own check (with one worker, a pure-Python speedup must
    read about 1: docs/method.md, "One reference CPU").  A profile gives them the
    headline points' values and place in a time budget, so that check has the power to
    catch a reference that is off."""
    top = _top_cores(points)
    return frozenset(
        point.name
        for point in points
        if kind_of(point.workload) == PURE_PYTHON_KIND
        and point.backend != "serial"
        and point.workers == 1
        and point.cores == top[(point.workload, point.params_text)]
        and point.cores > 1
    )


def settle_groups(points: Sequence[Point], kind_of: Callable[[str], str]) -> list[SettleGroup]:
    """The groups to settle in a matrix: for each throughput workload and params at its
    highest core count, the serial point and every other point with workers >= cores.

    ``kind_of`` maps a workload name to its kind.  Points without a serial baseline in
    the matrix (``--backend threads`` alone) have no speedup to settle.
    """
    top_cores = _top_cores(points)
    baselines: dict[tuple[object, ...], Point] = {}
    candidates: dict[tuple[object, ...], list[Point]] = {}
    for point in points:
        kind = kind_of(point.workload)
        top = top_cores[(point.workload, point.params_text)]
        if point.backend == "serial" and kind in HEADLINE_KINDS and point.cores == top:
            baselines[_baseline_key(point)] = point
        elif is_headline(kind, point.backend, point.workers, point.cores, top):
            candidates.setdefault(_baseline_key(point), []).append(point)
    return [
        SettleGroup(baselines[key], tuple(group))
        for key, group in candidates.items()
        if key in baselines
    ]


def unsettled(
    group: SettleGroup,
    bench_of: Callable[[str], pyperf.Benchmark | None],
    tolerance: float,
    sway_tolerance: float = math.inf,
) -> list[Point]:
    """The group's points whose speedups are not settled, the furthest from it first
    (points without results, e.g. failed ones, are left out).

    A point with pairs (schema 3) is unsettled when its per-pair ratios spread wider
    than ``tolerance`` or when leaving any one process out moves its speedup by more
    than ``sway_tolerance`` (gilbench.analysis.rounds.process_sway); an older point,
    when its per-round ratios against the serial baseline spread wider than
    ``tolerance`` (then a group whose baseline has no result yet has nothing to settle).
    """
    need = settle_need(group, bench_of, tolerance, sway_tolerance)
    return sorted((p for p in need if need[p] > 1), key=lambda p: -need[p])


def settle_need(
    group: SettleGroup,
    bench_of: Callable[[str], pyperf.Benchmark | None],
    tolerance: float,
    sway_tolerance: float = math.inf,
) -> dict[Point, float]:
    """For each of the group's points with a result, how far it is from settled: its
    spread over ``tolerance`` or its process sway over ``sway_tolerance``, whichever is
    larger (above 1: unsettled).  See :func:`unsettled`."""
    baseline = bench_of(group.baseline.name)
    serial = round_medians(baseline) if baseline is not None else None
    out: dict[Point, float] = {}
    for point in group.points:
        bench = bench_of(point.name)
        if bench is None:
            continue
        pairs = [r for ratios in pair_ratios(bench).values() for r in ratios]
        if pairs:
            sway = process_sway(bench) / sway_tolerance if sway_tolerance > 0 else math.inf
            out[point] = max(_over(ratio_spread(pairs), tolerance), sway)
        elif serial is not None:
            out[point] = _over(ratio_spread(paired_ratios(serial, round_medians(bench))), tolerance)
    return out


def _over(spread: float, tolerance: float) -> float:
    """``spread`` in units of ``tolerance`` (inf over a tolerance of 0 unless it is 0)."""
    if tolerance > 0:
        return spread / tolerance
    return 0.0 if spread == 0 else math.inf


def is_paired(bench: pyperf.Benchmark | None) -> bool:
    """Whether a point's results carry time-paired batches: its extra rounds then need
    no serial baseline measured beside them (its pairs hold their own)."""
    return bench is not None and bool(pair_ratios(bench))


def beyond_physics(
    points: Sequence[Point],
    bench_of: Callable[[str], pyperf.Benchmark | None],
    kind_of: Callable[[str], str],
) -> list[Point]:
    """The points whose speedup, from the pairs measured so far, breaks physics
    (gilbench.analysis.physics.speedup_reason: pure Python above min(workers, cores)),
    the furthest beyond first.

    Such a number is a failed measurement, not a finding, and its cause is known: a
    process times four backend batches and two serial partners, each partner shared by
    two batches, so one burst that lengthens one partner lifts half of that process's
    pairs, and the median of four pairs then reads the burst (docs/method.md,
    "Rechecking what breaks physics").  One process decides a point the budget measured
    once; more processes set such a burst aside like any other outlier.
    """
    found: list[tuple[float, Point]] = []
    for point in points:
        bench = bench_of(point.name)
        if bench is None:
            continue
        pairs = [r for ratios in pair_ratios(bench).values() for r in ratios]
        if not pairs:
            continue
        kind, speedup = kind_of(point.workload), statistics.median(pairs)
        spread = ratio_spread(pairs)
        reason = speedup_reason(
            kind, point.backend, speedup, workers=point.workers, cpus=point.cores,
            spread=spread if math.isfinite(spread) else math.nan,
        )  # fmt: skip
        if reason:
            found.append((speedup / speedup_limit(kind, point.workers, point.cores), point))
    return [point for _, point in sorted(found, key=lambda item: -item[0])]
