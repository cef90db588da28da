"""The verdict rule and the Karp-Flatt serial fraction, on synthetic tidy frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gilbench.analysis.verdict import judge, karp_flatt, verdicts


def _row(  # noqa: PLR0917 - test rows read best as one positional line each
    backend: str, workers: int, speedup: float, effective: float, cores: int = 2,
    kind: str = "cpu", workload: str = "cpu.fib",
) -> dict[str, object]:  # fmt: skip
    return {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": workload, "params": "n=20",
        "kind": kind, "backend": backend, "start_method": "", "workers": workers,
        "cores": cores, "speedup": speedup, "effective_cores": effective,
    }  # fmt: skip


def test_pure_python_threads_are_gil_bound_with_evidence() -> None:
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 1.02, 1.0),
        _row("threads", 4, 0.98, 1.01),
        _row("processes", 2, 1.9, 1.95),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "GIL-bound"
    assert verdict.best_backend == "processes"
    assert verdict.best_speedup == 1.9
    assert "threads: 1.02x at 2 cores (2 workers), effective cores 1.00" in verdict.evidence
    assert "processes: 1.90x" in verdict.evidence


def test_io_and_released_threads_scale() -> None:
    io_verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 0.01, kind="io", workload="io.sleep"),
        _row("threads", 16, 15.6, 0.1, kind="io", workload="io.sleep"),
        _row("processes", 16, 14.0, 0.4, kind="io", workload="io.sleep"),
    ]))  # fmt: skip
    released = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0, kind="cpu-released"),
        _row("threads", 2, 1.85, 1.9, kind="cpu-released"),
        _row("processes", 2, 1.8, 1.9, kind="cpu-released"),
    ]))  # fmt: skip
    assert io_verdict is not None
    assert released is not None
    assert io_verdict.threads == "scales"
    assert io_verdict.best_backend == "threads"
    assert released.threads == "scales"


def test_nothing_scales_is_not_blamed_on_the_gil() -> None:
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 1.0, 1.0),
        _row("processes", 2, 1.1, 1.9),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "limited (not the GIL)"


def test_a_threads_slice_is_not_called_limited_by_something_else() -> None:
    """`gilbench run --workload cpu.fib --backend threads` measured threads and serial
    only: 0.98x on 1.00 effective cores is the GIL's signature, but nothing shows the work
    could scale, so the verdict says it cannot tell, not "limited (not the GIL)"."""
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 0.98, 1.0),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "unclear (no other backend to compare)"
    busy = judge(pd.DataFrame([_row("serial", 1, 1.0, 1.0), _row("threads", 2, 1.1, 1.9)]))
    assert busy is not None
    assert busy.threads == "limited (not the GIL)"  # busy cores: not the GIL either way


def test_threads_busy_on_many_cores_are_not_gil_bound() -> None:
    # A free-threaded build: threads use 1.9 cores but lose to contention.
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 1.1, 1.9),
        _row("processes", 2, 1.9, 1.9),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "limited (not the GIL)"


def test_the_highest_core_count_decides_and_one_core_says_so() -> None:
    rows = [
        _row("serial", 1, 1.0, 1.0, cores=1),
        _row("threads", 2, 0.99, 1.0, cores=1),
        _row("processes", 2, 0.98, 1.0, cores=1),
    ]
    single = judge(pd.DataFrame(rows))
    assert single is not None
    assert single.threads == "1 core"
    both = judge(pd.DataFrame([*rows, _row("serial", 1, 1.0, 1.0), _row("threads", 2, 1.0, 1.0),
                               _row("processes", 2, 1.9, 1.9)]))  # fmt: skip
    assert both is not None
    assert both.cores == 2
    assert both.threads == "GIL-bound"


def test_verdicts_skip_sync_and_probe_kinds() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 1.0, 1.0),
        _row("serial", 1, 1.0, 1.0, kind="sync", workload="sync.lock"),
        _row("serial", 1, 1.0, 0.0, kind="probe", workload="probe.deadlock"),
    ])  # fmt: skip
    assert list(verdicts(frame)["workload"]) == ["cpu.fib"]


def test_karp_flatt_known_values() -> None:
    assert karp_flatt(2.0, 2) == pytest.approx(0.0)  # perfectly parallel
    assert karp_flatt(1.0, 2) == pytest.approx(1.0)  # fully serial
    assert math.isnan(karp_flatt(1.5, 1))
    assert math.isnan(karp_flatt(float("nan"), 4))


@given(
    serial_fraction=st.floats(min_value=0.0, max_value=1.0),
    p=st.integers(min_value=2, max_value=256),
)
def test_karp_flatt_inverts_amdahls_law(serial_fraction: float, p: int) -> None:
    speedup = 1 / (serial_fraction + (1 - serial_fraction) / p)
    assert karp_flatt(speedup, p) == pytest.approx(serial_fraction, abs=1e-9)


def test_one_thread_matching_serial_does_not_count_as_scaling() -> None:
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 1, 1.01, 1.0),
        _row("threads", 2, 0.9, 1.0),
        _row("threads", 4, 0.98, 1.0),
        _row("processes", 1, 0.97, 1.0),
        _row("processes", 2, 1.75, 1.9),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "GIL-bound"
    assert "threads: 0.98x at 2 cores (4 workers)" in verdict.evidence


def test_processes_keeping_the_cores_busy_prove_the_gil_even_when_wall_time_is_noisy() -> None:
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 4, 0.95, 1.0),
        _row("processes", 4, 1.36, 1.83),  # drift ate the speedup, not the busy cores
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "GIL-bound"
    nothing_busy = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 4, 0.95, 1.0),
        _row("processes", 4, 1.36, 1.2),
    ]))  # fmt: skip
    assert nothing_busy is not None
    assert nothing_busy.threads == "limited (not the GIL)"


# -- issue 16: thresholds that scale with k, intervals, GIL off, io ---------------------------


def _ci_row(  # noqa: PLR0917 - test rows read best as one positional line each
    backend: str, workers: int, speedup: float, effective: float, cores: int,
    half: float = 0.05, **extra: object,
) -> dict[str, object]:  # fmt: skip
    row = _row(backend, workers, speedup, effective, cores=cores)
    row.update(speedup_ci_low=speedup * (1 - half), speedup_ci_high=speedup * (1 + half))
    row.update(extra)
    return row


@pytest.mark.parametrize("k", [2, 4, 8, 16])
def test_a_partly_held_gil_reads_gil_bound_at_any_core_count(k: int) -> None:
    # Threads keep about a third of the cores busy (2.5 of 8) under a partly held GIL.
    busy = max(1.0, 0.3 * k)
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, k),
        _ci_row("threads", k, 1.1, busy, k),
        _ci_row("processes", k, 0.9 * k, 0.95 * k, k),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "GIL-bound", verdict.evidence
    assert "[" in verdict.evidence  # the speedups' intervals are evidence too
    assert verdict.best_ci_low < verdict.best_speedup < verdict.best_ci_high


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_threads_that_scale_scale_at_every_k_and_one_core_says_so(k: int) -> None:
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, k),
        _ci_row("threads", k, 0.9 * k, 0.95 * k, k),
        _ci_row("processes", k, 0.85 * k, 0.95 * k, k),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == ("1 core" if k == 1 else "scales")


@pytest.mark.parametrize("k", [2, 8])
def test_both_backends_below_1x_is_not_blamed_on_the_gil(k: int) -> None:
    # Threads 0.5x and processes 0.76x: both dispatch-bound; 1.5x the threads, but not 1x.
    for half in (0.05, math.nan):
        rows = [
            _ci_row("serial", 1, 1.0, 1.0, k, half=half),
            _ci_row("threads", k, 0.5, 1.0, k, half=half),
            _ci_row("processes", k, 0.76, 0.9 * k, k, half=half),
        ]
        verdict = judge(pd.DataFrame(rows))
        assert verdict is not None
        assert verdict.threads == "limited (not the GIL)"


def test_a_lead_inside_the_intervals_does_not_beat_threads() -> None:
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, 4),
        _ci_row("threads", 4, 1.2, 1.1, 4, half=0.3),  # [0.84, 1.56]
        _ci_row("processes", 4, 1.9, 3.5, 4, half=0.25),  # [1.43, 2.38]: overlaps
    ]))  # fmt: skip
    assert verdict is not None
    # Not GIL-bound (the lead is inside the intervals), and not "limited" either: the
    # point estimates alone would say GIL-bound, so the honest answer is that the
    # intervals are too wide to tell.
    assert verdict.threads == "unclear (intervals too wide)"


def test_a_quick_run_whose_processes_interval_is_wide_is_unclear_not_limited() -> None:
    """cpu.json_encode in a quick run here: threads 0.99x [0.95, 1.03] with 1.0 effective
    cores, processes 1.67x [0.98, 1.86]: not provably GIL-bound, but no sign of another
    limit either."""
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, 2),
        _ci_row("threads", 2, 0.99, 1.0, 2, half=0.04),
        _ci_row("processes", 2, 1.67, 1.9, 2, half=0.44),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "unclear (intervals too wide)"
    narrow = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, 2),
        _ci_row("threads", 2, 0.99, 1.0, 2, half=0.04),
        _ci_row("processes", 2, 1.67, 1.9, 2, half=0.1),
    ]))  # fmt: skip
    assert narrow is not None
    assert narrow.threads == "GIL-bound"


@pytest.mark.parametrize("k", [2, 8])
def test_gil_off_threads_are_limited_by_locks_not_the_gil(k: int) -> None:
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, k, gil_enabled=False),
        _ci_row("threads", k, 1.0, 1.0, k, gil_enabled=False),  # lock-serialised
        _ci_row("processes", k, 0.9 * k, 0.95 * k, k, gil_enabled=False),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == "limited by locks or contention (GIL off)"


def _io(
    backend: str, workers: int, speedup: float, effective: float, cores: int, **extra: object,
) -> dict[str, object]:  # fmt: skip
    row = _row(backend, workers, speedup, effective, cores=cores, kind="io",
               workload="io.sleep")  # fmt: skip
    row.update(speedup_ci_low=speedup * 0.95, speedup_ci_high=speedup * 1.05, **extra)
    return row


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_io_work_has_its_own_rule(k: int) -> None:
    waiting = judge(pd.DataFrame([
        _io("serial", 1, 1.0, 0.01, k), _io("threads", 16, 15.0, 0.1, k),
        _io("asyncio", 16, 15.5, 0.05, k),
    ]))  # fmt: skip
    assert waiting is not None
    assert waiting.threads == "scales"  # waiting overlaps, even on one core
    dispatch = judge(pd.DataFrame([
        _io("serial", 1, 1.0, 0.5, k), _io("threads", 16, 0.4 * k, 1.0, k),
        _io("asyncio", 16, 0.9 * k + 1, 0.6, k),
    ]))  # fmt: skip
    assert dispatch is not None
    assert dispatch.threads == "GIL-bound"  # the GIL in the dispatch path
    cpu = judge(pd.DataFrame([
        _io("serial", 1, 1.0, 1.0, k), _io("threads", 16, 0.4 * k, 0.9 * k, k),
        _io("asyncio", 16, 0.4 * k, 0.9, k),
    ]))  # fmt: skip
    assert cpu is not None
    assert cpu.threads == "CPU-bound"


def test_suspect_rows_stay_out_of_the_verdict() -> None:
    verdict = judge(pd.DataFrame([
        _ci_row("serial", 1, 1.0, 1.0, 2, suspect=""),
        _ci_row("threads", 2, 1.0, 1.0, 2, suspect=""),
        _ci_row("processes", 2, 5.0, 1.9, 2, suspect="speedup above min(workers, cores)"),
    ]))  # fmt: skip
    assert verdict is not None
    # The only other backend is left out: nothing is left to show the work could scale.
    assert verdict.threads == "unclear (no other backend to compare)"
    assert "left out as suspect" in verdict.evidence
