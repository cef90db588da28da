"""The self-benchmark's pure parts: headline speedups, stability, the 3 x 3 folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_bench, write_suite

from gilbench.analysis.store import load_results
from gilbench.selfcheck.selfbench import PerfTable, synthetic_folder
from gilbench.selfcheck.stability import headline_speedups, stability


def _run(root: Path, threads_time: float) -> Path:
    write_suite(root / "box" / "20260101T000000Z-cpython3.11.json", [
        make_bench(values=(0.1, 0.1, 0.1)),
        make_bench(backend="threads", workers=1, values=(0.1, 0.1, 0.1)),
        make_bench(backend="threads", workers=2, values=(threads_time,) * 3),
    ])  # fmt: skip
    return root


def test_headline_speedups_are_the_headline_points(tmp_path: Path) -> None:
    # Two cores: threads with one worker is not a headline point (workers < cores).
    speedups = headline_speedups(_run(tmp_path, 0.05))
    assert dict(speedups["speedup"]) == {"cpu.fib(n=20) threads workers=2": pytest.approx(2.0)}


def test_each_parameter_combination_is_its_own_headline_point(tmp_path: Path) -> None:
    write_suite(tmp_path / "box" / "20260101T000000Z-cpython3.11.json", [
        make_bench(values=(0.1,) * 3),
        make_bench(backend="threads", workers=2, values=(0.05,) * 3),
        make_bench(values=(0.4,) * 3, params="n=27", name="cpu.fib(n=27) serial"),
        make_bench(backend="threads", workers=2, values=(0.4,) * 3, params="n=27",
                   name="cpu.fib(n=27) threads workers=2"),
    ])  # fmt: skip
    speedups = headline_speedups(tmp_path)
    assert dict(speedups["speedup"]) == {
        "cpu.fib(n=20) threads workers=2": pytest.approx(2.0),
        "cpu.fib(n=27) threads workers=2": pytest.approx(1.0),
    }


def test_stability_is_the_largest_relative_difference(tmp_path: Path) -> None:
    agree = stability(_run(tmp_path / "a", 0.05), _run(tmp_path / "b", 0.055))
    assert agree.compared == 1
    assert agree.where == "cpu.fib(n=20) threads workers=2"
    assert agree.worst == pytest.approx(0.1, rel=0.01)
    assert agree.median == pytest.approx(0.1, rel=0.01)
    assert agree.within == 0
    assert "10.0% largest difference (cpu.fib(n=20) threads workers=2)" in agree.text()


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


def _paired_run(root: Path, partners: str, capacity: float) -> Path:
    write_suite(root / "box" / "20260101T000000Z-cpython3.11.json", [
        make_bench(values=(0.1, 0.1, 0.1), timed_s=0.3),
        make_bench(backend="threads", workers=2, values=(0.05, 0.05, 0.05),
                   paired_serial_s=partners, capacity=capacity, timed_s=0.45),
        make_bench(backend="processes", workers=2, values=(0.05, 0.05, 0.05),
                   paired_serial_s="0.1 0.1 0.1", capacity=2.0, timed_s=0.45),
    ])  # fmt: skip
    return root


def test_the_acceptance_rows_read_paired_speedups_and_capacity_efficiency(
    tmp_path: Path,
) -> None:
    from gilbench.selfcheck.selfbench import timed_share
    from gilbench.selfcheck.stability import suspect_count

    # threads: pairs say 2.0x then 2.16x (8 % apart); capacity 2.0 then 1.6 cores.
    first = _paired_run(tmp_path / "a", "0.1 0.1 0.1", 2.0)
    second = _paired_run(tmp_path / "b", "0.108 0.108 0.108", 1.6)
    paired = stability(first, second, "speedup")
    assert paired.compared == 2
    assert paired.within == 1
    assert paired.worst == pytest.approx(0.08, rel=0.01)
    assert paired.within_share == 0.5
    assert not paired.meets_acceptance()  # 50 % within 5 %, not 90 %
    efficiency = stability(first, second, "capacity_efficiency")
    # threads: 2.0 / 2.0 = 1.0, then 2.16 / 1.6 = 1.35
    assert efficiency.worst == pytest.approx(0.35, rel=0.01)
    same = stability(first, _paired_run(tmp_path / "c", "0.1 0.1 0.1", 2.0), "speedup")
    assert same.meets_acceptance()
    assert timed_share(first, seconds=2.4) == pytest.approx((0.3 + 0.45 + 0.45) / 2.4)
    assert suspect_count(first) == 0
    # 3x from two pure-Python workers on two cores: beyond physics (gilbench.analysis.physics)
    assert suspect_count(_paired_run(tmp_path / "d", "0.15 0.15 0.15", 2.0)) == 1
