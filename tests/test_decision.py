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
    assert "threads 1.00x (blocked 49%: the GIL or locks)" in decision.alternatives


def test_equal_backends_go_to_the_cheaper_one_and_say_so() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 1.0, math.nan, math.nan, kind="cpu-released"),
        _row("threads", 2, 1.85, 1.78, 1.92, kind="cpu-released", share_blocked=0.05),
        _row("processes", 2, 1.88, 1.80, 1.96, kind="cpu-released"),
    ])  # fmt: skip
    (decision,) = decisions(frame)
    assert decision.choice == "threads"
    assert decision.note == "about equal to processes[forkserver]"


def test_nothing_above_one_is_serial_and_no_interval_is_unclear() -> None:
    flat = pd.DataFrame([_row("serial", 1, 1.0, math.nan, math.nan),
                         _row("threads", 2, 1.02, 0.95, 1.09)])  # fmt: skip
    assert decisions(flat)[0].choice == "serial"
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
    assert fold_warning(text) == "56 of 73 headline speedups did not settle"
    assert len(fold_warning("x " * 200)) <= 110
