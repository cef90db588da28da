"""The decision rule (issue 25) on synthetic tidy tables."""

from __future__ import annotations

import math

import pandas as pd

from gilbench.analysis.decision import decisions
from gilbench.report.console import fold_warning


def _row(backend: str, workers: int, speedup: float, low: float, high: float, **extra: object
         ) -> dict[str, object]:  # fmt: skip
    return {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "free_threaded": False, "workload": "cpu.fib", "params": "n=20", "kind": "cpu",
        "backend": backend, "start_method": "forkserver" if backend == "processes" else "",
        "workers": workers, "cores": 2, "speedup": speedup, "speedup_ci_low": low,
        "speedup_ci_high": high, "effective_cores": 1.0, "median_s": 0.1, "tasks": 32,
        "memory_per_worker_mib": 12.0 if backend == "processes" else 0.1,
        "share_blocked": 0.49 if backend == "threads" else 0.02, **extra,
    }  # fmt: skip


def test_pure_python_goes_to_processes_and_says_why_threads_lose() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, math.nan, math.nan),
        _row("threads", 2, 1.0, 0.97, 1.03),
        _row("processes", 2, 1.71, 1.62, 1.80),
        _row("processes", 4, 1.74, 1.60, 1.88),
        {**_row("serial", 1, 1.0, math.nan, math.nan),
         "workload": "startup.process_pool_forkserver", "kind": "startup", "median_s": 0.24,
         "tasks": 4, "params": ""},
    ])  # fmt: skip
    (decision,) = decisions(frame)
    assert (decision.choice, decision.workers) == ("processes[forkserver]", 2)  # the plateau
    assert decision.memory_per_worker_mib == 12.0
    assert decision.startup_ms == 60.0
    assert "threads 1.00x (blocked 49%)" in decision.alternatives


def test_a_slow_cheap_backend_is_not_equal_to_a_fast_one_with_a_wide_interval() -> None:
    """asyncio running pure Python inline at 1.02x [0.77, 1.35] reaches the low end of
    processes' 1.65x [1.30, 2.09]; it is not 'about equal': its estimate is outside."""
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, math.nan, math.nan),
        _row("asyncio", 4, 1.02, 0.77, 1.35),
        _row("processes", 2, 1.65, 1.30, 2.09),
    ])  # fmt: skip
    assert decisions(frame)[0].choice == "processes[forkserver]"


def test_equal_backends_go_to_the_cheaper_one_and_say_so() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, math.nan, math.nan, kind="cpu-released"),
        _row("threads", 2, 1.85, 1.78, 1.92, kind="cpu-released", share_blocked=0.05),
        _row("processes", 2, 1.88, 1.80, 1.96, kind="cpu-released"),
    ])  # fmt: skip
    (decision,) = decisions(frame)
    assert decision.choice == "threads"
    assert decision.note == "the cheapest of equals"
    assert decision.alternatives == "≈ processes[forkserver] 1.88x"


def test_nothing_above_one_is_serial_and_no_interval_is_unclear() -> None:
    flat = pd.DataFrame([_row("serial", 1, 1.0, math.nan, math.nan),
                         _row("threads", 2, 1.02, 0.95, 1.09)])  # fmt: skip
    assert decisions(flat)[0].choice == "serial"
    wide = pd.DataFrame([_row("serial", 1, 1.0, math.nan, math.nan),
                         _row("processes", 2, 1.5, 0.95, 2.3)])  # fmt: skip
    assert decisions(wide)[0].choice == "unclear (intervals too wide)"
    bare = pd.DataFrame([_row("serial", 1, 1.0, math.nan, math.nan),
                         _row("processes", 2, 1.9, math.nan, math.nan)])  # fmt: skip
    assert decisions(bare)[0].choice == "unclear (too few processes)"


def test_a_free_threaded_build_says_what_its_threads_reach() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, math.nan, math.nan),
        _row("threads", 2, 1.0, 0.97, 1.03),
        _row("processes", 2, 1.71, 1.62, 1.80),
        _row("threads", 2, 1.93, 1.85, 2.0, interpreter="cpython3.14t", free_threaded=True,
             gil_enabled=False),
    ])  # fmt: skip
    default = next(d for d in decisions(frame) if d.interpreter == "cpython3.11")
    assert default.free_threaded == "cpython3.14t threads 1.93x"


def test_a_warning_folds_to_its_first_clause() -> None:
    text = ("56 of 73 headline speedups did not settle: their pairs still disagree by more "
            "than 3% (median deviation), e.g. cpu.json_encode ...")  # fmt: skip
    assert fold_warning(text) == (
        "56 of 73 headline speedups did not settle: their pairs still disagree by more than 3%"
    )
    assert len(fold_warning("x " * 200)) <= 110


def test_a_one_worker_slice_decides_nothing() -> None:
    frame = pd.DataFrame([_row("serial", 1, 1.0, math.nan, math.nan),
                          _row("threads", 1, 1.09, 0.89, 1.34),
                          _row("processes", 1, 0.94, 0.71, 1.24)])  # fmt: skip
    assert decisions(frame)[0].choice == "unclear (fewer workers than cores)"
