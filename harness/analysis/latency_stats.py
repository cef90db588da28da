"""A latency point's numbers: the percentiles its requests support, with 95 % intervals,
and whether a queue built up.

Each pyperf value of a latency point is one request's latency, in the order the requests
were made within each worker process (gilbench.measure.latency).  All of them are used.

**Which percentiles a sample supports.**  A percentile q is reported only when at least
:data:`SUPPORT_BEYOND` (10) requests lie beyond it: n (1 - q) >= 10, so p50 needs 20
requests, p90 100 and p99 1,000.  Below that, the estimate is the largest one or two
values with an interpolation between them, and its 95 % interval has no upper end inside
the sample (the distribution-free interval of a quantile, from binomial order statistics,
needs about 6 values beyond it for an upper rank below n; 10 leaves a margin).  Such a
percentile is shown as "max of N" (the ``*_note`` column), its cell left empty, never as
the percentile.

**Intervals.**  95 % percentile-bootstrap intervals (scipy.stats.bootstrap) over blocks
of :data:`BLOCK` consecutive requests, resampled within each worker process (stratified
by process), never over single requests: requests one after another share the load's
luck (a queue behind a slow request, a CPU chunk, the GIL's phase, a neighbour's burst),
so resampling them one by one would understate the spread. A point has only 2-3 worker
processes, too few to resample as units (docs/statistics.md, "Units": fewer than 3 give
no interval); blocks give it tens. The interval is the uncertainty of this run's
percentile given its processes; a machine that changes between runs is the A/A test's
business. Intervals need 3 blocks or more and a supported percentile; the maximum gets
none (a bootstrap of a maximum can never exceed the sample's, so its interval would be
false).

**Queues.**  ``latency_trend`` is Spearman's rank correlation between a request's place
in its process and its latency, averaged over processes: near 0 when the responder kept
up with the schedule, near 1 when latency grew through the run because requests came
faster than it answered (a queue that never drained).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyperf
from scipy import stats

#: A percentile is reported only with at least this many requests beyond it.
SUPPORT_BEYOND = 10
#: Consecutive requests resampled together.
BLOCK = 10
#: Fewer resampling units than this give no interval (docs/statistics.md, "Units").
MIN_UNITS = 3
CONFIDENCE = 0.95
RESAMPLES = 2000
# A fixed seed: the same file gives the same intervals in every report.
SEED = 16_003
#: Fewer requests in a process than this give it no trend: with 50, a rank correlation
#: above TREND_LIMIT arises by chance in about 1 in 7,000 steady runs (with 20, in 1 in
#: 80: a smoke run's points would warn for nothing).
MIN_TREND_REQUESTS = 50
#: Warn about a queue when the trend or the achieved utilisation exceeds these.
TREND_LIMIT = 0.5
UTILISATION_LIMIT = 0.9
#: The utilisation fact the worker records (gilbench.measure.latency.UTILISATION_FACT).
UTILISATION_COLUMN = "fact_latency_utilisation"
#: The offered rate fact the worker records (gilbench.measure.latency.REQUEST_RATE_FACT).
RATE_COLUMN = "fact_latency_rate_per_s"

#: Latency percentiles with intervals, as column prefix -> percentile.
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0}

#: The tidy table's latency columns, in order (after ``p50_ms`` .. ``max_ms``).
LATENCY_COLUMNS = [
    "latency_samples",
    *(f"{name}_ms_ci_{end}" for name in PERCENTILES for end in ("low", "high")),
    *(f"{name}_note" for name in PERCENTILES),
    "latency_trend",
]


def required_requests(q: float) -> int:
    """Requests needed for percentile ``q`` (0-100) to have SUPPORT_BEYOND beyond it."""
    return math.ceil(SUPPORT_BEYOND * 100 / (100 - q) - 1e-9)


def supported(q: float, n: int) -> bool:
    """Whether ``n`` requests support percentile ``q`` (see the module docstring)."""
    return n >= required_requests(q)


def max_note(n: int) -> str:
    """What an unsupported percentile's cell says instead: ``max of 40``."""
    return f"max of {n}"


def _blocks(values: Sequence[float], block: int) -> np.ndarray:
    """``values`` in consecutive blocks of ``block``, the last completed by wrapping
    round to the start (a circular block bootstrap's blocks), shape (blocks, block)."""
    array = np.asarray(values, dtype=float)
    count = math.ceil(len(array) / block)
    index = np.arange(count * block) % len(array)
    return array[index].reshape(count, block)


def percentile_intervals(
    runs: Sequence[Sequence[float]], qs: Sequence[float], block: int = BLOCK
) -> dict[float, tuple[float, float]]:
    """95 % intervals of percentiles ``qs`` of all values of ``runs`` pooled, by a
    stratified block bootstrap (see the module docstring); {} with fewer than
    MIN_UNITS blocks.  Each run is a sequence of values in the order they were taken."""
    runs = [list(run) for run in runs if len(run)]
    if not runs or not qs:
        return {}
    if any(len(run) < 2 * block for run in runs):  # too short to be a stratum: pool them
        runs = [[value for run in runs for value in run]]
    strata = [_blocks(run, block) for run in runs]
    if sum(len(s) for s in strata) < MIN_UNITS or any(len(s) < 2 for s in strata):
        return {}
    quantiles = list(qs)

    def statistic(*ids: np.ndarray, axis: int = -1) -> np.ndarray:
        parts = [stratum[i] for stratum, i in zip(strata, ids, strict=True)]
        pooled = np.concatenate([p.reshape(*p.shape[:-2], -1) for p in parts], axis=-1)
        return np.asarray(np.percentile(pooled, quantiles, axis=-1))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate (constant) samples warn
        result = stats.bootstrap(
            tuple(np.arange(len(s)) for s in strata),
            statistic,
            n_resamples=RESAMPLES,
            batch=500,
            vectorized=True,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(SEED),
        )
    low = np.atleast_1d(result.confidence_interval.low)
    high = np.atleast_1d(result.confidence_interval.high)
    return {q: (float(lo), float(hi)) for q, lo, hi in zip(quantiles, low, high, strict=True)}


def trend(runs: Sequence[Sequence[float]]) -> float:
    """Spearman's correlation of latency with request order, averaged over the runs with
    at least MIN_TREND_REQUESTS requests (NaN if none, or all constant)."""
    rhos = []
    for run in runs:
        if len(run) < MIN_TREND_REQUESTS or len(set(run)) < 2:
            continue
        rho = stats.spearmanr(np.arange(len(run)), np.asarray(run, dtype=float)).statistic
        if not math.isnan(rho):
            rhos.append(float(rho))
    return sum(rhos) / len(rhos) if rhos else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Percentile ``q`` with linear interpolation between order statistics (pyperf's and
    numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def latency_columns(runs: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The tidy row's latency columns for a latency point whose processes took ``runs``
    (each its values in request order), in ms: ``p50_ms`` .. ``max_ms``, intervals,
    notes, ``latency_samples`` and ``latency_trend``."""
    values = [value for run in runs for value in run]
    n = len(values)
    row: dict[str, Any] = {"latency_samples": n}
    shown = [q for q in PERCENTILES.values() if supported(q, n)]
    intervals = percentile_intervals(runs, shown)
    for name, q in PERCENTILES.items():
        ok = q in shown
        low, high = intervals.get(q, (math.nan, math.nan))
        row[f"{name}_ms"] = percentile(values, q) * 1e3 if ok else math.nan
        row[f"{name}_ms_ci_low"] = low * 1e3
        row[f"{name}_ms_ci_high"] = high * 1e3
        row[f"{name}_note"] = "" if ok else max_note(n)
    row["max_ms"] = max(values) * 1e3 if values else math.nan
    row["latency_trend"] = trend(runs)
    return row


def empty_latency_columns() -> dict[str, Any]:
    """The latency columns of a throughput row: all missing."""
    row: dict[str, Any] = {column: math.nan for column in LATENCY_COLUMNS}
    row.update({f"{name}_ms": math.nan for name in (*PERCENTILES, "max")})
    row.update({f"{name}_note": "" for name in PERCENTILES})
    row["latency_samples"] = None
    return row


def benchmark_latency_columns(bench: pyperf.Benchmark, is_latency: bool) -> dict[str, Any]:
    """:func:`latency_columns` of a pyperf benchmark (its runs with values), or the empty
    columns for a throughput point."""
    if not is_latency:
        return empty_latency_columns()
    return latency_columns([list(run.values) for run in bench.get_runs() if run.values])
