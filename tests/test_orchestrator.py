"""Running points: interleaved rounds, resuming, and the result file after each point."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyperf
import pytest

from gilbench.analysis.store import RunFile
from gilbench.run.orchestrator import run_points
from gilbench.run.profiles import get_profile
from gilbench.run.workers import _signals_held
from gilbench.vocabulary import Point

TWO_ROUNDS = replace(get_profile("smoke"), name="two-rounds", processes=2, rounds=2, values=1)


def _points() -> list[Point]:
    return [
        Point("cpu.fib", {"n": 10}, "serial", 1, 1, 4),
        Point("cpu.fib", {"n": 10}, "threads", 2, 1, 4),
    ]


def test_rounds_interleave_points_and_resume_measures_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "m" / "20260101T000000Z-cpython3.11.json"
    path.parent.mkdir()
    seen: list[tuple[str, str]] = []
    outcome = run_points(_points(), TWO_ROUNDS, RunFile(path), {"machine": "m"},
                         lambda point, status: seen.append((point.backend, status)))  # fmt: skip
    assert not outcome.failures
    assert [s for _, s in seen] == ["round 1/2", "round 1/2", "round 2/2", "round 2/2"]
    assert [b for b, _ in seen] == ["serial", "threads", "serial", "threads"]
    suite = pyperf.BenchmarkSuite.load(str(path))
    for bench in suite.get_benchmarks():
        assert len([r for r in bench.get_runs() if r.values]) == 2
        assert bench.get_metadata()["machine"] == "m"

    again = run_points(_points(), TWO_ROUNDS, RunFile(path), {"machine": "m"})
    assert not again.measured
    assert len(again.resumed) == 2


def test_calibrated_loops_are_found_once_and_reused_by_later_rounds(tmp_path: Path) -> None:
    calibrating = replace(TWO_ROUNDS, name="calibrating", loops=0, min_time=0.002)
    path = tmp_path / "m" / "20260101T000000Z-cpython3.11.json"
    path.parent.mkdir()
    outcome = run_points(_points()[:1], calibrating, RunFile(path), {"machine": "m"})
    assert not outcome.failures
    (bench,) = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    runs = bench.get_runs()
    calibration = [r for r in runs if not r.values]
    timed = [r for r in runs if r.values]
    assert len(calibration) == 1  # one calibration for both rounds
    assert len(timed) == 2
    loops = calibration[0].get_metadata()["calibrate_loops"]
    assert loops >= 1
    assert {r.get_metadata()["loops"] for r in timed} == {loops}


_MASK = "import signal; print(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))"


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks here")
def test_a_worker_releases_the_signals_held_while_it_was_started() -> None:
    """The orchestrator holds SIGINT and SIGTERM while it starts a worker, and the mask
    survives exec; the worker's first step (gilbench.measure.bridge.main) releases them."""
    held = {int(signal.SIGINT), int(signal.SIGTERM)}
    release = "from gilbench.measure.bridge import release_held_signals; release_held_signals(); "
    with _signals_held():
        as_started = subprocess.run([sys.executable, "-c", _MASK], capture_output=True,
                                    text=True, check=True)  # fmt: skip
        released = subprocess.run([sys.executable, "-c", release + _MASK], capture_output=True,
                                  text=True, check=True)  # fmt: skip
    assert held <= set(json.loads(as_started.stdout))
    assert not held & set(json.loads(released.stdout))
