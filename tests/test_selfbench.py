"""The self-benchmark's pure parts: headline speedups, stability, the 3 x 3 folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_bench, write_suite

from gilbench.analysis.store import load_results
from gilbench.run.selfbench import PerfTable, headline_speedups, stability, synthetic_folder


def _run(root: Path, threads_time: float) -> Path:
    write_suite(root / "box" / "20260101T000000Z-cpython3.11.json", [
        make_bench(values=(0.1, 0.1, 0.1)),
        make_bench(backend="threads", workers=1, values=(0.1, 0.1, 0.1)),
        make_bench(backend="threads", workers=2, values=(threads_time,) * 3),
    ])  # fmt: skip
    return root


def test_headline_speedups_take_each_backend_at_its_widest_point(tmp_path: Path) -> None:
    speedups = headline_speedups(_run(tmp_path, 0.05))
    assert dict(speedups["speedup"]) == {"cpu.fib threads": pytest.approx(2.0)}


def test_stability_is_the_largest_relative_difference(tmp_path: Path) -> None:
    agree = stability(_run(tmp_path / "a", 0.05), _run(tmp_path / "b", 0.055))
    assert agree.compared == 1
    assert agree.where == "cpu.fib threads"
    assert agree.worst == pytest.approx(0.1, rel=0.01)
    assert agree.median == pytest.approx(0.1, rel=0.01)
    assert agree.within == 0
    assert "10.0% largest difference (cpu.fib threads)" in agree.text()


def test_the_synthetic_folder_has_three_machines_and_three_interpreters(tmp_path: Path) -> None:
    points = synthetic_folder(_run(tmp_path / "a", 0.05), tmp_path / "three")
    loaded = load_results(tmp_path / "three")
    assert points == 27
    assert len(loaded.suites) == 9
    assert not loaded.skipped


def test_the_table_is_saved_row_by_row_and_a_failed_step_is_a_row(tmp_path: Path) -> None:
    table = PerfTable(tmp_path / "perf.md")
    table.add("overhead", "1.01", "<= 1.02", ok=True)
    assert "| overhead | 1.01 | <= 1.02 | meets |" in table.path.read_text()

    def broken() -> tuple[str, bool]:
        raise RuntimeError("the quick run failed (1): boom | with a pipe")

    table.step("quick profile wall time", "<= 8 min", broken)
    table.step("report time", "< 10 s", lambda: ("6.5 s", True))
    text = table.path.read_text()
    assert "| quick profile wall time | failed: the quick run failed (1): boom / with" in text
    assert "| report time | 6.5 s | < 10 s | meets |" in text
    assert table.failed
