"""A run that fits the time it is given (issue 25): every point once, then the headline
points' other rounds, then the rest, while they fit; and what the budget bought."""

from __future__ import annotations

import types
from pathlib import Path

import pyperf
import pytest

from gilbench.analysis.store import RunFile
from gilbench.cli.parser import build_parser
from gilbench.run import orchestrator
from gilbench.run.profiles import get_profile
from gilbench.vocabulary import Point

POINTS = [
    Point("cpu.fib", {"n": 20}, "serial", 1, 2, 32),
    # Fewer workers than cores, not pure Python: neither headline nor the reference's
    # own check (a one-worker pure-Python point, which rides with the headline points).
    Point("released.sha256", {"kib": 64, "total_kib": 8192}, "threads", 1, 2, 32),
    Point("cpu.fib", {"n": 20}, "threads", 2, 2, 32),  # headline
    Point("cpu.fib", {"n": 20}, "processes", 2, 2, 32),  # headline
]


def _bench(point: Point) -> pyperf.Benchmark:
    meta = {"name": point.name, "unit": "second", "loops": 1}
    return pyperf.Benchmark([pyperf.Run([0.1, 0.1], warmups=None, metadata=meta,
                                        collect_metadata=False)])  # fmt: skip


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: float | None
         ) -> tuple[list[tuple[str, int]], orchestrator.RunOutcome]:  # fmt: skip
    """Run the four points with a fake clock: every measurement takes 10 s."""
    clock = [0.0]
    order: list[tuple[str, int]] = []
    monkeypatch.setattr(orchestrator, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))

    def measure(point: Point, *args: object, **kwargs: object) -> pyperf.Benchmark:
        clock[0] += 10.0
        order.append((point.name, len([o for o in order if o[0] == point.name]) + 1))
        return _bench(point)

    monkeypatch.setattr(orchestrator, "measure_point", measure)
    profile = get_profile("quick")
    run_file = RunFile(tmp_path / "20260101T000000Z-cpython3.11.json")
    outcome = orchestrator.run_points(POINTS, profile, run_file, {}, budget_s=budget)
    return order, outcome


def test_a_budget_measures_everything_once_then_the_headline_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 first passes (40 s) + 2 headline points x 2 more rounds (40 s) fit in 85 s;
    # one more round of anything does not.
    order, outcome = _run(tmp_path, monkeypatch, budget=85.0)
    names = [name for name, _ in order]
    assert names[:4] == [p.name for p in POINTS]
    headline = {POINTS[2].name, POINTS[3].name}
    assert set(names[4:]) == headline
    assert len(order) == 8
    assert "2 headline points got 3 of 3 rounds, 2 others 1" in outcome.budget_note
    assert outcome.budget_note.startswith("measuring budget 1.4 min, took 1.3 min")


def test_a_budget_too_short_for_intervals_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, outcome = _run(tmp_path, monkeypatch, budget=45.0)
    assert len(order) == 4
    assert "no interval: give the run more time (--budget)" in outcome.budget_note
    _, short = _run(tmp_path / "short", monkeypatch, budget=25.0)
    assert "1 point not measured at all: --resume measures them" in short.budget_note


def test_without_a_budget_the_passes_interleave_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, outcome = _run(tmp_path, monkeypatch, budget=None)
    assert [name for name, _ in order[:8]] == [p.name for p in POINTS] * 2
    assert outcome.budget_note == ""


def test_the_budget_option_reads_minutes_and_seconds() -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--budget", "5m"]).budget == 300.0
    assert parser.parse_args(["run", "--budget", "90s"]).budget == 90.0
    assert parser.parse_args(["run", "--budget", "120"]).budget == 120.0
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--budget", "soon"])


def test_one_worker_pure_python_points_ride_with_the_headline_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference's own check (issue 23): a one-worker pure-Python point at the top
    core count gets the headline points' rounds within a budget, and the note says so."""
    reference = Point("cpu.fib", {"n": 20}, "threads", 1, 2, 32)
    clock = [0.0]
    order: list[str] = []
    monkeypatch.setattr(orchestrator, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))

    def measure(point: Point, *args: object, **kwargs: object) -> pyperf.Benchmark:
        clock[0] += 10.0
        order.append(point.name)
        return _bench(point)

    monkeypatch.setattr(orchestrator, "measure_point", measure)
    run_file = RunFile(tmp_path / "20260101T000000Z-cpython3.11.json")
    points = [*POINTS, reference]
    outcome = orchestrator.run_points(points, get_profile("quick"), run_file, {}, budget_s=115.0)
    assert order[:5] == [p.name for p in points]
    assert set(order[5:]) == {POINTS[2].name, POINTS[3].name, reference.name}
    assert "1 one-worker points 3" in outcome.budget_note


def test_later_rounds_go_workload_by_workload_the_families_taking_turns() -> None:
    """A decision needs every backend of its workload with an interval: a budget that
    runs out should have finished whole workloads, a family's first before another's
    second."""
    points = [
        Point(name, {"n": 20}, backend, 2, 2, 32)
        for name in ("cpu.fib", "cpu.primes", "io.sleep")
        for backend in ("threads", "processes")
    ]
    groups = orchestrator._by_workload(points)
    assert [g[0].workload for g in groups] == ["cpu.fib", "io.sleep", "cpu.primes"]
    assert all(len({p.workload for p in g}) == 1 for g in groups)
    everything = frozenset(p.name for p in points)
    order = list(orchestrator._passes(points, get_profile("quick"), everything, budgeted=True))
    later = [(r, p.workload) for r, p in order[len(points) :]]
    assert later[:4] == [(1, "cpu.fib"), (1, "cpu.fib"), (2, "cpu.fib"), (2, "cpu.fib")]


def test_the_reference_checks_get_their_rounds_before_the_headline_points() -> None:
    checks = frozenset({POINTS[1].name})
    order = list(orchestrator._passes(POINTS, get_profile("quick"), checks | {POINTS[2].name},
                                      budgeted=True, first=checks))  # fmt: skip
    later = [(r, p.name) for r, p in order[len(POINTS):]]  # fmt: skip
    assert later[:3] == [(1, POINTS[1].name), (2, POINTS[1].name), (1, POINTS[2].name)]


def test_the_measuring_leaves_room_for_what_the_command_does_around_it() -> None:
    from gilbench.run.command import FINISH_RESERVE_S, measuring_budget

    # Of 8 minutes, 2 s already spent and the summary and report still to come.
    assert measuring_budget(480.0, 2.0) == pytest.approx(480.0 - 2.0 - FINISH_RESERVE_S)
    # A budget too short for the reserve still measures: a tenth of it.
    assert measuring_budget(10.0, 5.0) == pytest.approx(1.0)
