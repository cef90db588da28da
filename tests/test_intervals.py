"""The 95 % intervals on a point's figures (gilbench.analysis.intervals)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gilbench.analysis import intervals
from gilbench.analysis.intervals import (
    LATENCY_NOTE,
    hierarchical_median_interval,
    median_interval,
    process_t_interval,
)


def _reference(groups: list[list[float]], resamples: int, seed: int) -> tuple[float, float]:
    """The two-level bootstrap written out resample by resample, with the same draws."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(g) for g in groups])
    width = int(sizes.max())
    outer = rng.integers(0, len(groups), size=(resamples, len(groups)))
    uniform = rng.random((resamples, len(groups), width))
    medians = []
    for b in range(resamples):
        pooled = []
        for slot, chosen in enumerate(outer[b]):
            group = groups[chosen]
            pooled += [group[int(u * len(group))] for u in uniform[b, slot, : len(group)]]
        medians.append(float(np.median(pooled)))
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


@pytest.mark.parametrize("sizes", [(4, 4, 4), (2, 2, 2, 2), (4, 2, 4), (6, 3, 5)])
def test_the_vectorised_bootstrap_matches_the_one_written_out(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    groups = [list(rng.normal(1.7, 0.1, size)) for size in sizes]
    got = hierarchical_median_interval(groups, resamples=300, seed=11)
    assert got == pytest.approx(_reference(groups, 300, 11), rel=1e-12)


def test_no_interval_from_fewer_than_three_units() -> None:
    assert all(math.isnan(v) for v in hierarchical_median_interval([[1.0, 2.0], [1.5]]))
    assert all(math.isnan(v) for v in hierarchical_median_interval([[1.0], [], [2.0]]))
    assert all(math.isnan(v) for v in median_interval([1.0, 2.0]))


def test_identical_processes_give_a_point_interval() -> None:
    assert hierarchical_median_interval([[1.5, 1.5]] * 3) == (1.5, 1.5)
    assert median_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=6), min_size=3, max_size=5))
def test_the_interval_lies_within_the_values(groups: list[list[float]]) -> None:
    low, high = hierarchical_median_interval(groups, resamples=200)
    values = [v for g in groups for v in g]
    assert min(values) - 1e-12 <= low <= high <= max(values) + 1e-12


def test_the_interval_covers_the_true_median_about_as_often_as_it_says() -> None:
    """Processes with their own offset (sd 0.03) and pairs within them (sd 0.03): over
    300 simulated points of 5 processes x 4 pairs, the two-level interval holds the true
    median 1.0 in 80 % to 100 % of them (it errs wide; resampling pairs alone would not)."""
    rng = np.random.default_rng(3)
    hits = 0
    trials = 300
    for _ in range(trials):
        groups = [list(1.0 + rng.normal(0, 0.03) + rng.normal(0, 0.03, 4)) for _ in range(5)]
        low, high = hierarchical_median_interval(groups, resamples=400, seed=int(rng.integers(1e9)))
        hits += low <= 1.0 <= high
    assert 0.80 <= hits / trials <= 1.0


def test_a_latency_point_has_no_throughput_interval_but_a_note() -> None:
    row = {"load_in": "threads", "tasks": 1, "throughput": 100}
    low, high, note = intervals._throughput_interval(row, [[0.01] * 67] * 3)
    assert math.isnan(low)
    assert math.isnan(high)
    assert note == LATENCY_NOTE
    throughput = {**row, "load_in": ""}
    groups = [[0.01, 0.011], [0.012, 0.01], [0.01, 0.01]]
    low, high, note = intervals._throughput_interval(throughput, groups)
    assert low <= 100 <= high
    assert not note


def test_the_speedup_interval_is_students_t_over_the_processes_medians() -> None:
    """Per-process medians 1, e, e^2: logs 0, 1, 2 (sd 1), t(0.975, 2) = 4.3027 (a table
    value), so the interval is exp(+-4.3027 / sqrt(3)) = [0.0834, 11.99] around 1."""
    e = math.e
    groups = [[0.5, 1.0, 1.5], [e, e], [e * e - 1, e * e, e * e + 1]]
    low, high = process_t_interval(groups, 1.0)
    assert low == pytest.approx(0.0833974, rel=1e-5)
    assert high == pytest.approx(11.990776, rel=1e-5)
    # Centred on the estimate in log terms, whatever the estimate.
    low2, high2 = process_t_interval(groups, 2.0)
    assert (low2, high2) == pytest.approx((2 * low, 2 * high))
    assert process_t_interval([[1.7], [1.7], [1.7]], 1.7) == (1.7, 1.7)
    for bad in ([[1.0], [2.0]], [[1.0], [0.0], [2.0]]):
        assert all(math.isnan(v) for v in process_t_interval(bad, 1.0))


def test_the_t_interval_covers_another_run_more_often_than_the_bootstrap() -> None:
    """What the A/A rows of nox -s perf measure: two runs of 3 processes x 4 pairs whose
    processes differ by more than their pairs do.  Run 2's speedup lies inside run 1's
    t interval far more often than inside its two-level bootstrap interval."""
    rng = np.random.default_rng(5)

    def run() -> list[list[float]]:
        return [list(1.7 * np.exp(rng.normal(0, 0.04) + rng.normal(0, 0.02, 4))) for _ in range(3)]

    t_hits = boot_hits = 0
    trials = 200
    for _ in range(trials):
        first, second = run(), run()
        estimate = float(np.median([v for g in first for v in g]))
        other = float(np.median([v for g in second for v in g]))
        low, high = process_t_interval(first, estimate)
        t_hits += low <= other <= high
        low, high = hierarchical_median_interval(first, resamples=400)
        boot_hits += low <= other <= high
    assert t_hits / trials >= 0.85
    assert t_hits > boot_hits
