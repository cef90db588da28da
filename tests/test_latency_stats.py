"""Latency percentiles: which ones a sample supports, their intervals, queues, and how
the table, the terminal, the report and the warnings show them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyperf
import pytest
from helpers import make_bench
from rich.console import Console

from gilbench.analysis.latency_stats import (
    LATENCY_COLUMNS,
    latency_columns,
    max_note,
    percentile_intervals,
    required_requests,
    supported,
    trend,
)
from gilbench.analysis.noise import queue_warnings
from gilbench.analysis.tidy import COLUMNS, benchmark_row, with_param_columns
from gilbench.report.console import latency_table
from gilbench.report.latency import load_sentence, mixed_figures, switch_sentence, tail


def test_a_percentile_needs_ten_requests_beyond_it() -> None:
    assert [required_requests(q) for q in (50, 90, 99, 99.9)] == [20, 100, 1000, 10000]
    assert supported(99, 1000)
    assert not supported(99, 999)
    assert supported(90, 200)
    assert not supported(90, 99)
    assert supported(50, 20)
    assert not supported(50, 19)
    assert max_note(40) == "max of 40"


def test_the_interval_of_a_median_of_uniform_values_has_the_textbook_width() -> None:
    # 2,000 uniform values: the median's standard error is sqrt(0.25 / n) / f(0.5) = 0.011,
    # so its 95 % interval is about 0.5 +- 0.022.
    values = np.random.default_rng(3).uniform(0, 1, 2000)
    low, high = percentile_intervals([values[:1000], values[1000:]], [50.0])[50.0]
    assert low < 0.5 < high
    assert 0.03 < high - low < 0.07


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    noise = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = noise[0] / math.sqrt(1 - phi**2)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    return out


def test_blocks_keep_the_interval_honest_when_requests_share_their_luck() -> None:
    # Requests one after another are correlated (here an AR(1) series, phi = 0.8, whose
    # median is 0): resampled one by one, the 95 % interval covers the truth about half
    # the time; resampled in blocks of 10, close to 95 %.  Seeded: the same every run.
    rng = np.random.default_rng(11)
    covered = {1: 0, 10: 0}
    repeats = 50
    for _ in range(repeats):
        runs = [_ar1(rng, 200, 0.8), _ar1(rng, 200, 0.8)]
        for block in covered:
            low, high = percentile_intervals(runs, [50.0], block=block)[50.0]
            covered[block] += low <= 0 <= high
    assert covered[10] / repeats >= 0.8
    assert covered[1] / repeats <= 0.75
    assert covered[10] > covered[1] + 0.15 * repeats


def test_no_interval_from_fewer_than_three_blocks() -> None:
    assert percentile_intervals([list(range(20))], [50.0]) == {}
    assert set(percentile_intervals([list(range(30))], [50.0])) == {50.0}
    assert percentile_intervals([], [50.0]) == {}


def test_a_queue_that_never_drains_shows_as_a_trend() -> None:
    rng = np.random.default_rng(5)
    steady = [list(rng.exponential(1, 100)) for _ in range(2)]
    growing = [list(np.arange(100) * 0.01 + rng.exponential(0.1, 100)) for _ in range(2)]
    assert abs(trend(steady)) < 0.3
    assert trend(growing) > 0.9
    assert math.isnan(trend([[1.0, 2.0]]))  # too short to say


def test_latency_columns_leave_an_unsupported_p99_empty_with_its_note() -> None:
    runs = [[0.001 * (1 + (i % 50) / 10) for i in range(100)] for _ in range(2)]
    row = latency_columns(runs)
    assert row["latency_samples"] == 200
    assert math.isnan(row["p99_ms"])
    assert row["p99_note"] == "max of 200"
    assert math.isnan(row["p99_ms_ci_low"])
    assert row["p90_note"] == ""
    assert row["p50_note"] == ""
    assert row["p50_ms_ci_low"] <= row["p50_ms"] <= row["p50_ms_ci_high"]
    assert row["p90_ms_ci_low"] <= row["p90_ms"] <= row["p90_ms_ci_high"]
    assert row["max_ms"] == pytest.approx(5.9)


def _rows(samples: int, runs: int = 2) -> pd.DataFrame:
    """Latency rows of a sweep: the responder alone and beside 2 CPU threads."""
    rows = []
    for load_workers, latency in ((0, 0.0001), (2, 0.02)):
        per_run = samples // runs
        values = tuple(latency * (1 + (i % 100) / 100) for i in range(per_run))
        bench = make_bench(
            "mixed.echo", "threads", 1, values=values, kind="mixed", load_in="threads",
            load_workers=load_workers, params="chunk=20000,size=64", tasks=1,
        )  # fmt: skip
        several = pyperf.Benchmark([bench.get_runs()[0]] * runs)
        rows.append(benchmark_row(several, "box", Path("x.json")))
    return with_param_columns(pd.DataFrame(rows))


def test_the_tidy_row_of_a_quick_latency_point() -> None:
    frame = _rows(200)
    assert set(LATENCY_COLUMNS) <= set(COLUMNS)
    assert list(frame["latency_samples"]) == [200, 200]
    assert list(frame["p99_note"]) == ["max of 200", "max of 200"]
    assert frame["p99_ms"].isna().all()
    assert frame["p90_ms_ci_low"].notna().all()
    throughput = benchmark_row(make_bench(), "box", Path("x.json"))
    assert throughput["latency_samples"] is None
    assert throughput["p99_note"] == ""


def test_sentences_table_and_terminal_say_max_of_n_where_p99_is_not_supported() -> None:
    quick = _rows(200)
    assert tail(quick.iloc[1]) == (pytest.approx(quick.iloc[1]["max_ms"]), "max of 200")
    sentence = load_sentence(quick)
    assert "threads max of 200: 39.8 ms, 200.0x" in sentence
    assert "too few for a p99, which needs 1,000" in sentence
    (figure,) = mixed_figures(quick)
    assert "max of 200: " in str(figure.table)
    assert "[" in str(figure.table)  # p50 and p90 with their intervals
    console = Console(width=200, record=True)
    table = latency_table(quick)
    assert table is not None
    console.print(table)
    text = console.export_text()
    assert "max " in text
    assert "200 requests each" in text
    # A default-sized point states its p99 with its interval.
    default = _rows(1000)
    assert default["p99_ms"].notna().all()
    assert "95 % interval" in load_sentence(default)
    assert "max of" not in load_sentence(default)


def test_the_switch_sentence_says_max_of_n_for_unsupported_ends() -> None:
    rows = pd.DataFrame(
        {"interpreter": ["cpython3.11"] * 2, "param_interval_ms": [0.1, 50.0],
         "p99_ms": [math.nan, math.nan], "max_ms": [1.0, 300.0],
         "p99_note": ["max of 200", "max of 200"]}
    )  # fmt: skip
    assert switch_sentence(rows) == (
        "cpython3.11: from 0.1 ms to 50 ms, p99 latency went from max of 200: 1.0 ms to "
        "max of 200: 300.0 ms."
    )


def test_a_queue_warning_names_the_points_that_kept_one() -> None:
    frame = pd.DataFrame(
        {"kind": ["mixed", "mixed", "cpu"], "name": ["a", "b", "c"],
         "latency_trend": [0.9, 0.1, math.nan],
         "fact_latency_utilisation": [0.6, 0.4, math.nan]}
    )  # fmt: skip
    (warning,) = queue_warnings(frame)
    assert warning.startswith("1 of 2 latency points kept a queue")
    assert "a (trend 0.90, utilisation 60%)" in warning
    assert queue_warnings(frame.assign(latency_trend=[0.1, 0.1, math.nan])) == []
    busy = frame.assign(latency_trend=[0.1, 0.1, math.nan],
                        fact_latency_utilisation=[0.95, 0.4, math.nan])  # fmt: skip
    assert len(queue_warnings(busy)) == 1
