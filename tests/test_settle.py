"""Settling headline speedups: which points get extra rounds, the spread rule, and the
extra rounds a real run adds."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pyperf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gilbench.analysis.rounds import (
    paired_ratios,
    process_sway,
    ratio_spread,
    round_medians,
    values_by_round,
)
from gilbench.analysis.store import RunFile
from gilbench.run.orchestrator import run_points
from gilbench.run.profiles import Profile, get_profile
from gilbench.run.settle import (
    SettleGroup,
    beyond_physics,
    headline_names,
    settle_groups,
    settle_need,
    unsettled,
)
from gilbench.vocabulary import Point

KINDS = {"cpu.fib": "cpu", "io.sleep": "io", "sync.lock": "sync"}


def _point(workload: str, backend: str, workers: int, cores: int) -> Point:
    return Point(workload, {}, backend, workers, cores, 8)


def _bench(name: str, rounds: dict[int, list[float]]) -> pyperf.Benchmark:
    runs = [
        pyperf.Run(values, warmups=None, collect_metadata=False,
                   metadata={"name": name, "round": r, "unit": "second", "loops": 1})
        for r, values in rounds.items()
    ]  # fmt: skip
    return pyperf.Benchmark(runs)


def test_groups_hold_throughput_points_at_the_top_core_count_with_enough_workers() -> None:
    points = [
        _point("cpu.fib", "serial", 1, 1),
        _point("cpu.fib", "threads", 2, 1),
        _point("cpu.fib", "serial", 1, 2),
        _point("cpu.fib", "threads", 1, 2),  # fewer workers than cores: not a headline
        _point("cpu.fib", "threads", 2, 2),
        _point("cpu.fib", "processes", 4, 2),
        _point("sync.lock", "serial", 1, 2),  # not a throughput kind
        _point("sync.lock", "threads", 2, 2),
        _point("io.sleep", "threads", 16, 2),  # no serial baseline in the matrix
    ]
    groups = settle_groups(points, KINDS.__getitem__)
    assert groups == [
        SettleGroup(_point("cpu.fib", "serial", 1, 2),
                    (_point("cpu.fib", "threads", 2, 2), _point("cpu.fib", "processes", 4, 2)))
    ]  # fmt: skip


def test_spread_is_the_median_absolute_deviation_over_the_median() -> None:
    assert ratio_spread([2.0]) == math.inf
    assert ratio_spread([]) == math.inf
    assert ratio_spread([1.9, 2.1]) == pytest.approx(0.05)
    # One burst among five rounds: the others agree, so the spread stays small.
    assert ratio_spread([1.80, 1.82, 1.0, 1.81, 1.79]) == pytest.approx(0.01 / 1.80, rel=1e-6)


@given(
    st.lists(st.floats(0.01, 100.0), min_size=2, max_size=12),
    st.floats(0.01, 100.0),
)
def test_spread_does_not_depend_on_the_unit(ratios: list[float], scale: float) -> None:
    assert ratio_spread([r * scale for r in ratios]) == pytest.approx(ratio_spread(ratios))
    assert ratio_spread(ratios) >= 0


def test_round_medians_pair_only_common_rounds() -> None:
    serial = _bench("s", {1: [2.0, 2.2, 1.8], 2: [4.0], 3: [2.0]})
    point = _bench("p", {1: [1.0], 3: [1.0, 1.1, 0.9]})
    assert values_by_round(serial)[1] == [2.0, 2.2, 1.8]
    assert paired_ratios(round_medians(serial), round_medians(point)) == [2.0, 2.0]


def test_unsettled_lists_points_whose_rounds_disagree() -> None:
    group = SettleGroup(_point("cpu.fib", "serial", 1, 2),
                        (_point("cpu.fib", "threads", 2, 2), _point("cpu.fib", "processes", 2, 2),
                         _point("cpu.fib", "processes", 4, 2)))  # fmt: skip
    serial, agreeing, burst, _missing = (group.baseline, *group.points)
    benches = {
        serial.name: _bench(serial.name, {1: [1.0], 2: [1.0]}),
        agreeing.name: _bench(agreeing.name, {1: [1.0], 2: [1.01]}),
        burst.name: _bench(burst.name, {1: [0.5], 2: [0.8]}),  # 2.0x, then 1.25x
    }
    assert unsettled(group, benches.get, tolerance=0.02) == [burst]
    assert unsettled(group, benches.get, tolerance=0.5) == []
    assert unsettled(group, lambda name: None, tolerance=0.02) == []  # no baseline yet


def _runs_by_round(path: Path) -> dict[str, list[int]]:
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {b.get_name(): sorted(values_by_round(b)) for b in suite.get_benchmarks()}


def test_headline_names_need_no_serial_baseline_in_the_matrix() -> None:
    points = [
        _point("cpu.fib", "serial", 1, 2),
        _point("cpu.fib", "threads", 2, 1),  # not the top core count
        _point("cpu.fib", "threads", 1, 2),  # fewer workers than cores
        _point("cpu.fib", "threads", 2, 2),
        _point("sync.lock", "threads", 2, 2),  # not a throughput kind
        _point("io.sleep", "threads", 16, 2),
    ]
    assert headline_names(points, KINDS.__getitem__) == {
        _point("cpu.fib", "threads", 2, 2).name, _point("io.sleep", "threads", 16, 2).name,
    }  # fmt: skip


def test_headline_points_get_the_profiles_headline_values(tmp_path: Path) -> None:
    profile = replace(get_profile("smoke"), name="hv", values=2, headline_values=4)
    serial = Point("cpu.fib", {"n": 12}, "serial", 1, 1, 4)
    headline = Point("cpu.fib", {"n": 12}, "threads", 2, 1, 4)
    narrow = Point("sync.lock", {"n": 100}, "threads", 2, 1, 4)
    path = tmp_path / "m" / "20260101T000000Z-cpython3.11.json"
    path.parent.mkdir()
    outcome = run_points([serial, headline, narrow], profile, RunFile(path), {"machine": "m"})
    assert not outcome.failures
    suite = pyperf.BenchmarkSuite.load(str(path))
    got = {
        b.get_name(): (
            [len(r.values) for r in b.get_runs()],
            b.get_metadata()["values_per_process"],
        )
        for b in suite.get_benchmarks()
    }
    assert got == {serial.name: ([2], 2), headline.name: ([4], 4), narrow.name: ([2], 2)}
    with pytest.raises(ValueError, match="at least"):
        replace(profile, headline_values=1)


SERIAL = Point("cpu.fib", {"n": 12}, "serial", 1, 1, 4)
HEADLINE = Point("cpu.fib", {"n": 12}, "threads", 2, 1, 4)


def _settling(settle_rounds: int) -> Profile:
    """Two rounds, then up to ``settle_rounds`` extra; tolerances of 0 are never met, so
    every headline point gets every extra round."""
    return replace(get_profile("smoke"), name="settle", processes=2, rounds=2, values=2,
                   settle_rounds=settle_rounds, settle_tolerance=0.0, settle_share=100.0,
                   sway_tolerance=0.0)  # fmt: skip


def _run_path(tmp_path: Path) -> Path:
    path = tmp_path / "m" / "20260101T000000Z-cpython3.11.json"
    path.parent.mkdir()
    return path


def test_a_run_settles_paired_headline_points_with_processes_of_their_own(
    tmp_path: Path,
) -> None:
    profile = _settling(settle_rounds=2)
    serial, headline = SERIAL, HEADLINE
    other = Point("sync.lock", {"n": 100}, "threads", 2, 1, 4)
    path = _run_path(tmp_path)
    statuses: list[tuple[str, str]] = []
    outcome = run_points(
        [serial, headline, other],
        profile,
        RunFile(path),
        {"machine": "m"},
        lambda point, status: statuses.append((point.backend, status)),
    )
    assert not outcome.failures
    rounds = _runs_by_round(path)
    # The headline point's pairs carry their own serial partners: the serial point is
    # not measured again.
    assert rounds[serial.name] == [1, 2]
    assert rounds[headline.name] == [1, 2, 3, 4]
    assert rounds[other.name] == [1, 2]
    assert statuses[-2:] == [("threads", "settling 1/2"), ("threads", "settling 2/2")]

    # Resuming measures nothing more: the extra rounds are spent.
    again = run_points([serial, headline, other], profile, RunFile(path), {"machine": "m"})
    assert not again.measured
    assert _runs_by_round(path) == rounds


def test_an_old_file_without_pairs_settles_with_its_baseline_back_to_back(
    tmp_path: Path,
) -> None:
    profile = _settling(settle_rounds=0)
    serial, headline = SERIAL, HEADLINE
    path = _run_path(tmp_path)
    assert not run_points([serial, headline], profile, RunFile(path), {"machine": "m"}).failures
    # As a file written before pairs (schema 2) would be: no serial partners.
    data = json.loads(path.read_text())
    for bench in data["benchmarks"]:
        for run in bench["runs"]:
            run.get("metadata", {}).pop("paired_serial_s", None)
    path.write_text(json.dumps(data))
    statuses: list[tuple[str, str]] = []
    run_points(
        [serial, headline],
        replace(profile, settle_rounds=1),
        RunFile(path),
        {"machine": "m"},
        lambda point, status: statuses.append((point.backend, status)),
    )
    assert statuses[-2:] == [("serial", "settling 1/1"), ("threads", "settling 1/1")]
    rounds = _runs_by_round(path)
    assert rounds[serial.name] == rounds[headline.name] == [1, 2, 3]


def _process(ratios: list[float]) -> pyperf.Run:
    """One pyperf process of a paired point whose pairs have these ratios."""
    return pyperf.Run([1.0] * len(ratios), warmups=None, collect_metadata=False,
                      metadata={"name": "p", "unit": "second", "loops": 1, "round": 1,
                                "paired_serial_s": " ".join(str(r) for r in ratios)})  # fmt: skip


def test_sway_is_how_far_one_process_moves_the_median_of_all_pairs() -> None:
    agreeing = pyperf.Benchmark([_process([2.0, 2.0]) for _ in range(3)])
    assert process_sway(agreeing) == 0.0
    # Two processes at 2.0, one at 1.5: all six pairs' median is 2.0; without a 2.0
    # process it is 1.75 (12.5 % lower); without the 1.5 one, still 2.0.
    one_off = pyperf.Benchmark([_process([2.0, 2.0]), _process([2.0, 2.0]), _process([1.5, 1.5])])
    assert process_sway(one_off) == pytest.approx(0.125)
    assert process_sway(pyperf.Benchmark([_process([2.0, 1.0])])) == math.inf


@given(st.lists(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=4), min_size=2, max_size=6),
       st.floats(0.1, 10.0))  # fmt: skip
def test_sway_does_not_depend_on_the_unit_and_is_never_negative(
    processes: list[list[float]], scale: float
) -> None:
    bench = pyperf.Benchmark([_process(p) for p in processes])
    scaled = pyperf.Benchmark([_process([r * scale for r in p]) for p in processes])
    assert process_sway(bench) >= 0
    assert process_sway(scaled) == pytest.approx(process_sway(bench), rel=1e-6, abs=1e-9)


def test_a_point_that_one_process_decides_is_unsettled_and_goes_first() -> None:
    group = SettleGroup(_point("cpu.fib", "serial", 1, 2),
                        (_point("cpu.fib", "threads", 2, 2), _point("cpu.fib", "processes", 2, 2),
                         _point("cpu.fib", "processes", 4, 2)))  # fmt: skip
    steady, swayed, worse = group.points
    tight = [1.80, 1.81, 1.79, 1.80]
    benches = {
        steady.name: pyperf.Benchmark([_process(tight) for _ in range(3)]),
        # Each process's pairs agree, so the pairs' spread is small (one process in three):
        # but one process decides the median.
        swayed.name: pyperf.Benchmark([_process(tight), _process(tight), _process([1.5] * 4)]),
        worse.name: pyperf.Benchmark([_process(tight), _process([1.5] * 4), _process([1.2] * 4)]),
    }
    assert unsettled(group, benches.get, tolerance=0.5) == []  # no sway tolerance: spread only
    assert unsettled(group, benches.get, tolerance=0.5, sway_tolerance=0.02) == [worse, swayed]
    need = settle_need(group, benches.get, tolerance=0.5, sway_tolerance=0.02)
    assert need[steady] < 0.1
    assert need[worse] > need[swayed] > 1


def test_a_process_with_one_burst_in_a_shared_partner_breaks_physics_until_more_come() -> None:
    """Measured on this project's VM (2026-12-07): json_encode asyncio on 1 core, one
    process, its first serial partner 184 ms against 105 ms for the second; that partner
    is shared by two backend batches, so half the pairs read 1.7x and the median 1.35x."""
    point = Point("cpu.json_encode", {}, "asyncio", 2, 1, 8)
    io_point = Point("io.sleep", {}, "threads", 2, 1, 8)
    fine = Point("cpu.fib", {}, "threads", 2, 2, 16)
    burst = [1.68, 1.79, 1.03, 1.02]
    kinds = {"cpu.json_encode": "cpu", "io.sleep": "io", "cpu.fib": "cpu"}
    benches = {
        point.name: pyperf.Benchmark([_process(burst)]),
        io_point.name: pyperf.Benchmark([_process([12.0] * 4)]),  # I/O has no such limit
        fine.name: pyperf.Benchmark([_process([1.9, 2.1, 2.0, 2.05])]),  # within 2 cores
    }
    points = [fine, io_point, point]
    assert beyond_physics(points, benches.get, kinds.__getitem__) == [point]
    # Two more processes without a burst: the median of all twelve pairs sets it aside.
    benches[point.name] = pyperf.Benchmark([_process(burst), _process([1.0, 0.98, 1.01, 0.99]),
                                            _process([0.97, 1.0, 0.99, 1.02])])  # fmt: skip
    assert beyond_physics(points, benches.get, kinds.__getitem__) == []


def test_beyond_physics_lists_the_furthest_first() -> None:
    kinds = {"cpu.fib": "cpu"}
    a = Point("cpu.fib", {}, "threads", 1, 2, 8)
    b = Point("cpu.fib", {}, "processes", 2, 2, 16)
    benches = {
        a.name: pyperf.Benchmark([_process([1.2] * 4)]),  # 1.2 over a limit of 1
        b.name: pyperf.Benchmark([_process([3.0] * 4)]),  # 1.5 over a limit of 2
    }
    assert beyond_physics([a, b], benches.get, kinds.__getitem__) == [b, a]


def test_a_point_beyond_physics_is_measured_again_before_the_later_rounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator's side: right after the first pass, a point whose number breaks
    physics gets its next rounds while it still does, up to the profile's rounds and
    extra rounds; the later pass finds its round done."""
    from gilbench.run import orchestrator

    profile = replace(_settling(settle_rounds=1), settle_tolerance=math.inf,
                      sway_tolerance=math.inf)  # fmt: skip
    serial, headline = SERIAL, HEADLINE
    path = _run_path(tmp_path)
    run_file = RunFile(path)
    # Whatever it measures, the headline point "breaks physics" every time.
    monkeypatch.setattr(orchestrator, "beyond_physics",
                        lambda points, bench_of, kind_of: [headline])  # fmt: skip
    statuses: list[tuple[str, str]] = []

    def note(point: Point, status: str) -> None:
        statuses.append((point.backend, status))

    outcome = run_points([serial, headline], profile, run_file, {"machine": "m"}, note)
    assert not outcome.failures
    assert statuses == [
        ("serial", "round 1/2"),
        ("threads", "round 1/2"),
        ("threads", "recheck (beyond physics)"),
        ("threads", "recheck (beyond physics)"),
        ("serial", "round 2/2"),
        ("threads", "measured already"),
    ]
    assert _runs_by_round(path) == {serial.name: [1, 2], headline.name: [1, 2, 3]}


def test_rechecks_come_after_the_first_pass_and_before_a_budget_spends_on_the_rest() -> None:
    from gilbench.run import orchestrator

    stage = orchestrator._stage
    assert stage(0, True, budgeted=True) == stage(0, False, budgeted=False) == "first pass"
    assert stage(1, True, budgeted=True) == stage(2, False, budgeted=False) == "later rounds"
    # With a budget the other points' later rounds come last: a recheck goes before them.
    assert stage(1, False, budgeted=True) == "the others' later rounds"
