"""gilbench compare: the significance test and the point-by-point table."""

from __future__ import annotations

import math
from pathlib import Path

import pyperf
import pytest
from helpers import gilbench, make_bench, write_suite
from hypothesis import given
from hypothesis import strategies as st

from gilbench.analysis.compare import CompareError, compare, load_side, render
from gilbench.analysis.significance import (
    adjust,
    beyond_noise,
    log_welch,
    marked,
    noise_floor,
    significance_mark,
)

samples = st.lists(st.floats(min_value=1e-3, max_value=10.0), min_size=3, max_size=10)


def _student4_two_sided(t: float) -> float:
    """Two-sided p of Student's t with 4 degrees of freedom, from its closed-form CDF
    F(t) = 1/2 + 3/8 x (1 - t^2 / (12 (1 + t^2/4))), x = t / sqrt(1 + t^2/4)."""
    t = abs(t)
    x = t / math.sqrt(1 + t * t / 4)
    return 2 * (1 - (0.5 + 3 / 8 * x * (1 - t * t / (12 * (1 + t * t / 4)))))


def test_welch_on_logs_matches_the_textbook_formula() -> None:
    # Equal variances and 3 units a side: Welch's degrees of freedom are exactly 4.
    a = [1.0, 1.1, 1.2]
    b = [math.exp(math.log(v) + 0.2) for v in (1.05, 1.1, 1.15)]
    la, lb = [math.log(v) for v in a], [math.log(v) for v in b]
    b = [math.exp(x) for x in (lb[1] - (la[1] - la[0]), lb[1], lb[1] + (la[2] - la[1]))]
    lb = [math.log(v) for v in b]
    mean_a, mean_b = sum(la) / 3, sum(lb) / 3
    var = sum((x - mean_a) ** 2 for x in la) / 2  # the same for both sides here
    t = (mean_b - mean_a) / math.sqrt(var / 3 + var / 3)
    found = log_welch(a, b)
    assert found.p == pytest.approx(_student4_two_sided(t), rel=1e-9)
    assert found.ratio == pytest.approx(math.exp(mean_b - mean_a))
    # The interval: mean difference -/+ t_{0.975, 4} (2.776445105) x standard error.
    half = 2.7764451051977987 * math.sqrt(2 * var / 3)
    assert found.low == pytest.approx(math.exp(mean_b - mean_a - half), rel=1e-9)
    assert found.high == pytest.approx(math.exp(mean_b - mean_a + half), rel=1e-9)


def test_three_units_a_side_can_be_significant_where_mann_whitney_never_could() -> None:
    # Mann-Whitney's smallest two-sided p with 3 vs 3 is 2 / 20 = 0.1.
    slow = [1.0, 1.02, 0.99]
    fast = [0.5, 0.51, 0.49]
    assert log_welch(slow, fast).p < 0.01
    assert math.isnan(log_welch([1.0, 2.0], [3.0, 4.0, 5.0]).p)  # two units: no test
    assert significance_mark(float("nan")) == "too few units"


@given(samples, samples)
def test_the_p_value_is_a_probability_and_symmetric(a: list[float], b: list[float]) -> None:
    p = log_welch(a, b).p
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(log_welch(b, a).p)


@given(samples)
def test_a_sample_against_itself_is_not_significant(a: list[float]) -> None:
    assert log_welch(a, list(a)).p > 0.5


def test_benjamini_hochberg_matches_the_hand_computed_values() -> None:
    # m = 4, sorted 0.01 0.03 0.04 0.20 -> 0.04 0.06 0.0533 0.20, then the running
    # minimum from the top: 0.04 0.0533 0.0533 0.20 (back in the original order).
    adjusted = adjust([0.01, 0.04, 0.03, 0.20, float("nan")])
    assert adjusted[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert math.isnan(adjusted[4])


def test_a_difference_inside_the_noise_is_not_marked() -> None:
    floor = noise_floor((2.0, 1.9, 2.1), (2.0, 1.8, 2.2))  # the widest side: 2.0 / 1.8
    assert floor == pytest.approx(2.0 / 1.8 - 1)
    assert not beyond_noise(1.05, floor)
    assert beyond_noise(1.2, floor)
    assert not marked(0.001, 1.05, floor)  # significant, but smaller than the noise
    assert not marked(0.2, 1.5, floor)  # large, but not significant
    assert marked(0.001, 1.5, floor)
    assert math.isnan(noise_floor((2.0, float("nan"), float("nan"))))


def _processes(bench: pyperf.Benchmark, scales: tuple[float, ...]) -> pyperf.Benchmark:
    """``bench`` measured in one worker process per scale (values scaled by it)."""
    run = bench.get_runs()[0]
    meta = run.get_metadata()
    return pyperf.Benchmark([
        pyperf.Run([v * s for v in run.values], warmups=None, collect_metadata=False,
                   metadata={**meta, "round": i + 1})
        for i, s in enumerate(scales)
    ])  # fmt: skip


def _machine(root: Path, machine: str, scale: float, workers_speedup: float) -> Path:
    base = tuple(0.1 * scale * (1 + i / 100) for i in range(6))
    fast = tuple(v / workers_speedup for v in base)
    # Three worker processes (rounds) a point: the units compare tests on.
    spread = (1.0, 1.01, 0.99)
    return write_suite(root / machine / "20260101T000000Z-cpython3.11.json", [
        _processes(make_bench(machine=machine, values=base), spread),
        _processes(make_bench(backend="threads", workers=2, machine=machine, values=fast),
                   spread),
    ])  # fmt: skip


def test_two_machines_compare_throughput_and_speedup_point_by_point(tmp_path: Path) -> None:
    _machine(tmp_path, "big", 1.0, 1.9)
    _machine(tmp_path, "small", 2.0, 1.0)
    table = compare(load_side("big", tmp_path), load_side("small", tmp_path))
    threads = table[table["backend"] == "threads"].iloc[0]
    assert threads["B/A"] == pytest.approx(1 / 2 / 1.9, rel=0.01)
    assert bool(threads["significant"]) is True
    assert bool(threads["throughput significant"]) is True
    assert threads["B/A low"] < threads["B/A"] < threads["B/A high"]
    assert threads["A speedup"] == pytest.approx(1.9, rel=0.01)
    assert threads["speedup B/A"] == pytest.approx(1 / 1.9, rel=0.01)
    assert "interpreter" in table.columns  # shared, so matched on
    assert {"A cores", "B cores"} <= set(table.columns)  # each machine at all its cores
    assert render(table, "md").startswith("| workload | backend |")
    assert render(table, "csv").splitlines()[0].startswith("workload,backend,workers")


def test_an_unknown_side_names_what_there_is(tmp_path: Path) -> None:
    _machine(tmp_path, "big", 1.0, 1.9)
    with pytest.raises(CompareError, match="machines: big"):
        load_side("cpython9.9", tmp_path)


def test_the_command_prints_marks_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    big = _machine(tmp_path, "big", 1.0, 1.9)
    small = _machine(tmp_path, "small", 2.0, 1.0)
    out = gilbench("compare", str(big), str(small))
    assert out.returncode == 0, out.stderr
    assert "Benjamini-Hochberg" in " ".join(out.stdout.split())
    assert "B/A" in out.stdout
    (tmp_path / "small" / "20260102T000000Z-broken.json").write_text("{not json")
    with_broken = gilbench("compare", str(big), str(tmp_path / "small"))
    assert with_broken.returncode == 0, with_broken.stderr
    assert "skipped" in with_broken.stderr
    assert "20260102T000000Z-broken.json" in with_broken.stderr.replace("\n", "")
    bad = gilbench("compare", "nothing-here", str(small), "--results", str(tmp_path))
    assert bad.returncode == 2
    assert "neither a file or folder" in bad.stderr.replace("\n", " ")


def test_a_report_over_two_machines_overlays_them_and_tabulates_verdicts(tmp_path: Path) -> None:
    _machine(tmp_path / "results", "big", 1.0, 1.9)
    _machine(tmp_path / "results", "small", 2.0, 1.0)
    out = gilbench("report", "results", "-o", "report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    assert "cpu.fib(n=20): every machine and interpreter" in html
    assert "big / cpython3.11" in html
    assert "small / cpython3.11" in html
    assert "Every verdict with its evidence (2)" in html
    assert 'id="environment"' in html


def test_one_machine_name_on_two_kinds_of_hardware_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "box"
    small = make_bench(cpu_model_name="Small CPU", cpu_count=2)
    big = make_bench(cpu_model_name="Big CPU", cpu_count=64, interpreter="cpython3.12")
    write_suite(folder / "20260101T000000Z-cpython3.11.json", [small])
    write_suite(folder / "20260102T000000Z-cpython3.12.json", [big])
    out = gilbench("report", "results", "-o", "report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    assert "holds results from different hardware" in html
    assert "Big CPU, 64 CPUs" in html


def test_running_under_a_name_used_by_other_hardware_warns(tmp_path: Path) -> None:
    import json

    from gilbench.run.orchestrator import write_machine_facts

    assert write_machine_facts(tmp_path, "box") is None
    facts = json.loads((tmp_path / "machine.json").read_text())
    (tmp_path / "machine.json").write_text(json.dumps({**facts, "cpu_model": "Other CPU"}))
    warning = write_machine_facts(tmp_path, "box")
    assert warning is not None
    assert "used before for different hardware" in warning
    assert json.loads((tmp_path / "machine.json").read_text())["previous_hardware"]


def test_latency_points_compare_by_where_their_load_ran_and_how_many_workers(
    tmp_path: Path,
) -> None:
    for machine, scale in (("big", 1.0), ("small", 3.0)):
        benches = [make_bench(machine=machine)]
        for place, k in (("threads", 0), ("threads", 2), ("asyncio[inline]", 2)):
            values = tuple(0.001 * scale * (1 + k) * (1 + i / 100) for i in range(6))
            benches.append(make_bench(
                "mixed.echo", place.split("[")[0], 1, values, kind="mixed", machine=machine,
                load_in=place, load_workers=k, tasks=1, params="size=64",
                name=f"mixed.echo(size=64) load={place} load_workers={k} cores=2",
            ))  # fmt: skip
        write_suite(tmp_path / machine / "20260101T000000Z-cpython3.11.json", benches)
    table = compare(load_side("big", tmp_path), load_side("small", tmp_path))
    assert list(table.columns[:5]) == ["workload", "backend", "workers", "CPU work in",
                                       "CPU workers"]  # fmt: skip
    latency = table[table["CPU work in"] != ""]
    assert sorted(zip(latency["CPU work in"], latency["CPU workers"], strict=True)) == [
        ("asyncio[inline]", 2), ("threads", 0), ("threads", 2)
    ]  # fmt: skip
    assert set(latency["workers"]) == {1}
    assert latency["B/A"].to_numpy() == pytest.approx([1 / 3] * 3, rel=0.01)
    text = render(table, "text")
    assert "asyncio[inline]" in text
    assert "–" in text  # the throughput point has no CPU load beside it
