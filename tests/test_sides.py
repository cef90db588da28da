"""Interleaved A/B runs (issue 24): naming the sides, and the order points are measured in."""

from __future__ import annotations

from pathlib import Path

import pyperf
import pytest

from gilbench.analysis.store import RunFile
from gilbench.run import ab_run, orchestrator
from gilbench.run.profiles import get_profile
from gilbench.run.pythons import FoundPython
from gilbench.run.selection import UsageError
from gilbench.run.sides import Side, find_python, gilbench_source, split_spec
from gilbench.vocabulary import Point

FOUND = [
    FoundPython("/opt/py/bin/python3.11", "3.11.7", "CPython", False, "PATH"),
    FoundPython("/c/cpython-3.14.7/bin/python3.14", "3.14.7", "CPython", False, "cache"),
    FoundPython("/c/cpython-3.14.7t/bin/python3.14t", "3.14.7", "CPython", True, "cache"),
]


def test_a_side_is_named_by_version_build_and_gil() -> None:
    assert split_spec("3.14t-gil") == ("3.14t", "1")
    assert split_spec("3.14") == ("3.14", None)
    assert find_python("3.14", FOUND).free_threaded is False
    assert find_python("3.14t", FOUND).free_threaded is True
    assert find_python("cpython3.14t", FOUND).executable.endswith("python3.14t")
    assert find_python("3.11.7", FOUND).version == "3.11.7"
    with pytest.raises(UsageError, match=r"no such interpreter found \(found: 3.11.7, 3.14.7, "):
        find_python("3.13", FOUND)


def test_gilbench_installs_into_a_side_from_where_it_came_from() -> None:
    source = gilbench_source()
    assert Path(source).is_dir() or source.startswith("gilbench==")


def _fake_bench(point: Point) -> pyperf.Benchmark:
    meta = {"name": point.name, "unit": "second", "loops": 1}
    return pyperf.Benchmark([pyperf.Run([0.1, 0.1], warmups=None, metadata=meta,
                                        collect_metadata=False)])  # fmt: skip


def test_the_sides_alternate_point_by_point_in_a_random_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[tuple[str, str, int]] = []

    def measure(
        point: Point,
        profile: object,
        scratch: Path,
        loops: object = None,
        headline: bool = False,
        *,
        side: Side | None = None,
    ) -> pyperf.Benchmark:
        assert side is not None
        order.append((side.label, point.name, len(order)))
        return _fake_bench(point)  # fmt: skip

    monkeypatch.setattr(orchestrator, "measure_point", measure)
    points = [Point("cpu.fib", {"n": 20}, backend, 1, 1, 32)
              for backend in ("serial", "threads", "processes")]  # fmt: skip
    runs = [
        ab_run.SideRun(
            Side(label, label, "python", f"cpython3.1{i}", "3.1", None), points,
            RunFile(tmp_path / f"20260101T000000Z-cpython3.1{i}.json"), {"ab_side": label},
        )
        for i, label in enumerate("AB")
    ]  # fmt: skip
    profile = get_profile("quick")
    outcomes = ab_run.run_points_ab(runs, profile, seed=5)
    assert len(order) == 2 * len(points) * profile.rounds
    # Every point is measured on both sides back to back, in every round.
    for first, second in zip(order[::2], order[1::2], strict=True):
        assert first[1] == second[1]
        assert {first[0], second[0]} == {"A", "B"}
    leaders = [first[0] for first in order[::2]]
    assert set(leaders) == {"A", "B"}  # the order is drawn, not fixed
    assert [o.measured for o in outcomes] == [tuple(points), tuple(points)]
    for run in runs:
        assert run.run_file.value_runs(points[0].name) == profile.rounds
