"""Running points: interleaved rounds, resuming, and the result file after each point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyperf

from harness.matrix import Point
from harness.orchestrator import run_points
from harness.profiles import get_profile
from harness.store import RunFile

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
