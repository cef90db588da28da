"""Noise warnings: a busy machine, drift, scattered values, speedups that did not settle."""

from __future__ import annotations

import pandas as pd

from gilbench.analysis.noise import noise_warnings, unsettled_warnings


def _row(
    backend: str, workers: int, cores: int, spread: float, **extra: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": "cpu.fib", "params": "n=20", "kind": "cpu", "machine_cpus": 2,
        "settle_tolerance": 0.02,
        "backend": backend, "workers": workers, "cores": cores, "speedup_spread": spread,
        "rounds": 5, "rsd": 0.01, "round_drift": 0.0, "load_before": 0.1, "run_id": "r",
        "name": f"cpu.fib {backend} workers={workers} cores={cores}",
    }  # fmt: skip
    row.update(extra)
    return row


def test_only_headline_speedups_that_did_not_settle_are_named() -> None:
    frame = pd.DataFrame([
        _row("serial", 1, 2, 0.0),
        _row("threads", 4, 2, 0.09),  # a headline that did not settle
        _row("processes", 4, 2, 0.01),  # settled
        _row("processes", 1, 2, 0.30),  # fewer workers than cores: not a headline
        _row("threads", 2, 1, 0.30),  # not the highest core count
        _row("threads", 4, 2, 0.30, workload="sync.lock", kind="sync"),  # not throughput
    ])  # fmt: skip
    (line,) = unsettled_warnings(frame)
    assert line.startswith("1 of 2 headline speedups did not settle")
    assert "cpu.fib threads workers=4 cores=2 (±9% over 5 rounds)" in line
    assert line in noise_warnings(frame)


def test_settled_or_single_round_runs_warn_of_nothing() -> None:
    settled = pd.DataFrame([_row("serial", 1, 2, 0.0), _row("threads", 4, 2, 0.01)])
    single = pd.DataFrame([_row("serial", 1, 2, float("nan")), _row("threads", 4, 2, float("nan"))])
    assert unsettled_warnings(settled) == []
    assert unsettled_warnings(single) == []
    assert noise_warnings(settled) == []


def test_a_machine_is_busy_by_its_own_size_not_by_the_cores_a_run_used() -> None:
    """A --cores 1 run on an 8-CPU machine with a load of 1 is not a busy machine; the
    same load on a 1-CPU machine is."""
    small = dict(cores=1, load_before=1.0)
    roomy = pd.DataFrame([_row("serial", 1, machine_cpus=8, spread=0.0, **small)])
    cramped = pd.DataFrame([_row("serial", 1, machine_cpus=1, spread=0.0, **small)])
    assert not any("busy" in line for line in noise_warnings(roomy))
    assert any("busy" in line for line in noise_warnings(cramped))


def test_the_not_settled_threshold_is_the_run_profiles() -> None:
    rows = [_row("serial", 1, 2, 0.0), _row("threads", 4, 2, 0.03)]
    strict = pd.DataFrame(rows)
    lenient = pd.DataFrame(rows).assign(settle_tolerance=0.05)
    (line,) = unsettled_warnings(strict)
    assert "more than 2%" in line
    assert unsettled_warnings(lenient) == []


def test_a_headline_that_one_process_still_decides_is_named_with_its_sway() -> None:
    swayed = _row("threads", 4, 2, 0.01, speedup_sway=0.08, sway_tolerance=0.02, ci_units=5)
    steady = _row("processes", 4, 2, 0.01, speedup_sway=0.01, sway_tolerance=0.02, ci_units=3)
    frame = pd.DataFrame([_row("serial", 1, 2, 0.0), swayed, steady])
    (line,) = unsettled_warnings(frame)
    assert line.startswith("1 of 2 headline speedups did not settle")
    assert "or one process still moves them by more than 2%" in line
    assert "cpu.fib threads workers=4 cores=2 (one of 5 processes moves it 8%)" in line
    # A run that recorded no sway tolerance (written before it) is not judged on sway.
    older = frame.assign(sway_tolerance=float("nan"))
    assert unsettled_warnings(older) == []


def test_a_paired_speedup_that_did_not_settle_says_over_how_many_pairs() -> None:
    frame = pd.DataFrame(
        [_row("serial", 1, 2, 0.0, pairs=0), _row("threads", 4, 2, 0.07, pairs=16)]
    )
    (line,) = unsettled_warnings(frame)
    assert "cpu.fib threads workers=4 cores=2 (±7% over 16 pairs)" in line


def test_one_worker_process_pools_below_serial_are_named_as_dispatch() -> None:
    from gilbench.analysis.noise import dispatch_notes

    frame = pd.DataFrame({
        "kind": ["cpu", "cpu", "cpu", "io", "cpu"],
        "backend": ["processes", "processes", "threads", "processes", "processes"],
        "workers": [1, 1, 1, 1, 2],
        "speedup": [0.92, 0.95, 0.97, 0.80, 1.7],
        "suspect": ["", "", "", "", ""],
    })  # fmt: skip
    (line,) = dispatch_notes(frame)
    assert line.startswith("2 one-worker process pools read 0.92–0.95x of serial")
    assert "dispatch" in line
    assert "not the GIL" in line
    # Nothing to say where every one-worker pool keeps up with serial.
    assert dispatch_notes(frame.assign(speedup=[1.0, 1.01, 0.97, 0.80, 1.7])) == []
