"""Time-paired batches: the ABBA order in the worker, the partners in run metadata, the
paired speedup and its cross-check in the tidy table, schema 2 files, settling on pairs."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
import pyperf
import pytest
from helpers import make_bench, with_units, write_suite

from gilbench.analysis.noise import baseline_warnings, noise_warnings
from gilbench.analysis.paired import PAIR_COLUMNS, paired_estimate
from gilbench.analysis.rounds import pair_ratios, run_pair_ratios
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import add_derived, tidy
from gilbench.benchmarks import get_workload
from gilbench.measure import pairs, run_facts
from gilbench.measure.batch import Batch
from gilbench.measure.shares import Shares
from gilbench.metadata import KEYS, SCHEMA_KEY
from gilbench.run.settle import SettleGroup, unsettled
from gilbench.vocabulary import Point

SCHEMA_2 = Path(__file__).parent / "data" / "schema2"
FIB = Batch(get_workload("cpu.fib"), {"n": 12}, 4)


# -- the worker: order, partners, metadata ---------------------------------------------------


def test_pairs_are_for_throughput_points_that_also_run_serially() -> None:
    fib = get_workload("cpu.fib")
    assert pairs.wants_pairs(fib, "threads")
    assert not pairs.wants_pairs(fib, "serial")
    assert not pairs.wants_pairs(get_workload("mixed.echo"), "threads")  # latency
    assert not pairs.wants_pairs(get_workload("probe.deadlock"), "threads")  # facts, not time


def test_one_serial_batch_partners_the_batch_before_and_the_batch_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured: list[int] = []
    reading = pairs.capacity.Reading(2.0, 1.1)
    monkeypatch.setattr(pairs.capacity, "read", lambda **_: measured.append(1) or reading)
    monkeypatch.setattr(run_facts, "_capacities", [])
    monkeypatch.setattr(run_facts, "_speed_ratios", [])
    timings = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    pairing = pairs.Pairing(FIB, enabled=True, capacity_every=4)
    monkeypatch.setattr(pairing, "partner", lambda: next(timings))
    order: list[str] = []
    partners = []
    for index in range(9):
        partner = pairing.before()
        order.append(f"B{index}")
        if partner is None:
            partner, timed = pairing.after()
            assert timed == partner
            order.append("S")
        partners.append(partner)
    # B S B | B S B | ...: each serial batch sits between the two batches it partners,
    # after the backend's in one pair and before it in the next (ABBA).
    assert order == ["B0", "S", "B1", "B2", "S", "B3", "B4", "S", "B5", "B6", "S", "B7", "B8", "S"]
    assert partners == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0]
    assert len(measured) == 3  # before batch 0, before the partner of batch 4, before batch 8
    assert run_facts._capacities == [2.0, 2.0, 2.0]
    assert run_facts._speed_ratios == [1.1, 1.1, 1.1]
    with pytest.raises(ValueError, match="between pairs"):
        pairs.Pairing(FIB, enabled=True, capacity_every=3)


def test_a_real_partner_is_a_checked_serial_batch() -> None:
    pairing = pairs.Pairing(FIB, enabled=True)
    assert pairing.partner() > 0
    off = pairs.Pairing(FIB, enabled=False)
    assert [off.before() for _ in range(3)] == [None] * 3
    assert off.after() == (0.0, 0.0)


def _series(partners: list[float], walls: list[float]) -> None:
    for partner, wall in zip(partners, walls, strict=True):
        run_facts.record(wall, wall)
        run_facts.record_pair(partner)
        run_facts.record_shares(Shares(running_s=wall, runqueue_s=0.0, total_s=2 * wall))


def test_the_run_metadata_holds_the_timed_values_partners_only() -> None:
    hook, metadata = run_facts.RunFactsHook(), {}
    run_facts._capacities.clear()
    run_facts._speed_ratios.clear()
    run_facts.record_capacity(1.5)
    _series([9.0], [1.0])  # a warmup
    hook.teardown(metadata)
    assert metadata["paired_serial_s"] == "9"
    run_facts.record_capacity(2.0, 1.02)
    run_facts.record_capacity(1.9, 1.3)
    _series([0.4, 0.5], [0.2, 0.25])  # the timed values
    hook.teardown(metadata)
    assert metadata["paired_serial_s"] == "0.4 0.5"
    assert metadata["timed_s"] == pytest.approx(0.2 + 0.25 + 0.4 + 0.5)
    assert metadata["capacity"] == 1.9  # median over the process, warmups included
    assert metadata["cpu_speed_ratio"] == pytest.approx(1.16)  # the two that had one
    assert metadata["share_running"] == 0.5
    assert metadata["share_runqueue"] == 0.0
    assert metadata["share_blocked"] == 0.5
    run_facts._capacities.clear()
    run_facts._speed_ratios.clear()
    hook.teardown(metadata)  # a series with nothing paired leaves nothing behind
    assert "paired_serial_s" not in metadata
    assert "capacity" not in metadata
    assert "cpu_speed_ratio" not in metadata
    assert set(run_facts.PAIR_KEYS) <= set(KEYS)


def test_a_partner_over_several_loops_is_per_batch_and_a_shared_one_is_timed_once() -> None:
    hook, metadata = run_facts.RunFactsHook(), {}
    run_facts.record(1.0, 1.0)
    run_facts.record_pair(3.0, batches=2)
    run_facts.record(1.0, 1.0)
    run_facts.record_pair(2.0, timed_s=0.0)  # the partner of the value before, again
    hook.teardown(metadata)
    assert metadata["paired_serial_s"] == "1.5 2"
    assert metadata["timed_s"] == pytest.approx(1.0 + 1.0 + 3.0)


def test_a_real_worker_pairs_every_value(tmp_path: Path) -> None:
    import subprocess
    import sys

    point = Point("cpu.fib", {"n": 14}, "threads", 2, 1, 8)
    output = tmp_path / "point.json"
    subprocess.run(
        [sys.executable, "-m", "gilbench.measure.bridge", "--point", point.to_json(),
         "--processes", "1", "--values", "3", "--warmups", "1", "--loops", "1",
         "--hook", run_facts.HOOK_NAME, "--quiet", "--output", str(output)],
        check=True, timeout=120,
    )  # fmt: skip
    (run,) = [r for r in pyperf.Benchmark.load(str(output)).get_runs() if r.values]
    meta = run.get_metadata()
    assert len(meta["paired_serial_s"].split()) == len(run.values) == 3
    assert len(run_pair_ratios(run)) == 3
    assert 0 < meta["capacity"] <= 1  # one pinned CPU
    shares = meta["share_running"] + meta["share_runqueue"] + meta["share_blocked"]
    assert shares == pytest.approx(1.0, abs=0.05)
    assert meta["timed_s"] > meta["timed_wall_s"]  # the partners are timed too
    partners = meta["paired_serial_s"].split()
    assert partners[0] != partners[1]  # values 0 and 1 share nothing ...
    assert partners[1] == partners[2]  # ... values 1 and 2 share the serial batch between
    # The partners' quiet time per task: at most their median, at least a tenth of it.
    per_task = statistics.median(float(p) for p in partners) / point.tasks
    assert per_task / 10 < meta["serial_quiet_s"] <= per_task * 1.05


# -- the tidy table -------------------------------------------------------------------------


def _paired(backend: str, workers: int, values: tuple[float, ...], partners: tuple[float, ...],
            round_number: int = 1, **extra: Any) -> pyperf.Benchmark:  # fmt: skip
    text = " ".join(str(p) for p in partners)
    return make_bench(backend=backend, workers=workers, values=values, paired_serial_s=text,
                      round=round_number, **extra)  # fmt: skip


def test_the_speedup_is_the_median_of_per_pair_ratios(tmp_path: Path) -> None:
    # The serial point says 2.0 s; the pairs, measured beside each batch, say the machine
    # was faster then: ratios 1.8, 2.0, 2.2 (median 2.0) and 1.0 (a disturbed pair).
    threads = make_bench(
        backend="threads", workers=2, values=(0.5, 0.5, 0.5, 0.5),
        paired_serial_s="0.9 1.0 1.1 0.5", capacity=1.6, share_running=0.5,
        share_runqueue=0.1, share_blocked=0.4, shares_excess=0.0, timed_s=5.5,
    )  # fmt: skip
    write_suite(tmp_path / "box" / "run.json", [make_bench(values=(2.0, 2.0, 2.0)), threads])
    frame = tidy(load_results(tmp_path)).set_index("backend")
    row = frame.loc["threads"]
    assert row["speedup"] == pytest.approx(statistics.median([1.8, 2.0, 2.2, 1.0]))
    assert row["baseline_speedup"] == pytest.approx(4.0)  # the serial point / this point
    assert row["pairs"] == 4
    assert row["paired_rounds"] == 1
    # spread: median absolute deviation of the ratios over their median
    deviations = [abs(r - 1.9) for r in (1.8, 2.0, 2.2, 1.0)]
    assert row["speedup_spread"] == pytest.approx(statistics.median(deviations) / 1.9)
    assert row["efficiency"] == pytest.approx(1.9 / 2)
    assert row["capacity"] == 1.6
    assert row["capacity_efficiency"] == pytest.approx(1.9 / 1.6)
    assert (row["share_running"], row["share_runqueue"], row["share_blocked"]) == (0.5, 0.1, 0.4)
    assert row["timed_s"] == 5.5
    serial = frame.loc["serial"]
    assert serial["speedup"] == 1.0
    assert serial["pairs"] == 0
    assert math.isnan(serial["capacity_efficiency"])


def test_pairs_count_over_every_process_and_round() -> None:
    bench = pyperf.Benchmark([
        pyperf.Run(values, collect_metadata=False, metadata={
            "name": "p", "unit": "second", "loops": 1, "round": r, "paired_serial_s": partners})
        for r, values, partners in (
            (1, (1.0, 1.0), "2 2"), (1, (1.0,), "3"), (2, (2.0, 2.0), "2 4"),
            (3, (1.0,), "1 1"),  # partners that do not match the values: left out
        )
    ])  # fmt: skip
    assert pair_ratios(bench) == {1: [2.0, 2.0, 3.0], 2: [1.0, 2.0]}


def test_points_without_pairs_keep_the_baseline_estimate() -> None:
    rows = [
        {"machine": "m", "interpreter": "i", "gil_enabled": True, "workload": "w", "params": "",
         "tasks": 8, "cores": 2, "backend": backend, "workers": w, "median_s": median,
         "_pair_ratios": ratios}
        for backend, w, median, ratios in (
            ("serial", 1, 2.0, []), ("threads", 2, 1.0, []), ("processes", 2, 1.0, [1.5, 1.7])
        )
    ]  # fmt: skip
    frame = add_derived(*with_units(rows)).set_index("backend")
    assert frame.loc["threads", "speedup"] == 2.0  # no pairs: the serial point's
    assert frame.loc["processes", "speedup"] == pytest.approx(1.6)  # pairs win
    assert frame.loc["processes", "baseline_speedup"] == 2.0
    assert frame.loc["processes", "karp_flatt"] == pytest.approx((1 / 1.6 - 1 / 2) / (1 - 1 / 2))


def test_paired_estimate_of_known_values() -> None:
    assert paired_estimate([]) == (pytest.approx(float("nan"), nan_ok=True),) * 2
    speedup, spread = paired_estimate([2.0])
    assert speedup == 2.0
    assert math.isnan(spread)
    assert paired_estimate([1.0, 2.0, 3.0]) == (2.0, pytest.approx(0.5))


def test_a_schema_2_file_loads_with_its_old_speedups_and_empty_new_columns(
    tmp_path: Path,
) -> None:
    from gilbench.report.page import render_report

    (path,) = (SCHEMA_2 / "vm").glob("*-cpython3.11.json")
    before = path.read_bytes()
    loaded = load_results(SCHEMA_2)
    assert not loaded.skipped
    raw = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    assert {b.get_metadata()[SCHEMA_KEY] for b in raw} == {2}
    frame = tidy(loaded)
    assert len(frame) == 8
    assert set(PAIR_COLUMNS) <= set(frame.columns)
    assert (frame["pairs"] == 0).all()
    assert (frame["paired_rounds"] == 0).all()
    for column in ("capacity", "capacity_efficiency", "share_running", "share_blocked"):
        assert frame[column].isna().all(), column
    assert (frame["speedup"] == frame["baseline_speedup"]).all()
    assert frame["speedup"].notna().all()
    assert not baseline_warnings(frame)
    noise_warnings(frame)
    html = render_report(frame, loaded, tmp_path / "report", "schema 2").read_text()
    assert "where the time went" not in html  # no shares: no bars
    assert path.read_bytes() == before


# -- the cross-check and settling -----------------------------------------------------------


def _check_row(speedup: float, baseline: float, spread: float, pairs: int = 8) -> dict[str, Any]:
    return {"workload": "cpu.fib", "backend": "threads", "start_method": "", "workers": 2,
            "cores": 2, "speedup": speedup, "baseline_speedup": baseline,
            "speedup_spread": spread, "pairs": pairs}  # fmt: skip


def test_the_baseline_cross_check_warns_beyond_10_percent_and_twice_the_spread() -> None:
    quiet = pd.DataFrame([_check_row(1.9, 1.8, 0.01), _check_row(1.9, 2.3, 0.15)])
    assert baseline_warnings(quiet) == []  # 5 %; 21 % but within twice a 15 % spread
    loud = pd.DataFrame([_check_row(1.9, 1.5, 0.02), _check_row(1.0, 1.3, 0.0, pairs=0)])
    (line,) = baseline_warnings(loud)
    assert line.startswith("1 of 1 paired speedups disagree")
    assert "cpu.fib threads workers=2 cores=2: 1.90x paired, 1.50x against the serial point" in line


def test_the_sway_column_says_how_far_one_process_moves_the_speedup(tmp_path: Path) -> None:
    processes = [
        _paired("threads", 2, (1.0, 1.0), (2.0, 2.0)),
        _paired("threads", 2, (1.0, 1.0), (2.0, 2.0)),
        _paired("threads", 2, (1.0, 1.0), (1.5, 1.5)),
    ]
    threads = pyperf.Benchmark([b.get_runs()[0] for b in processes])
    single = _paired("processes", 2, (1.0, 1.0), (2.0, 2.0))
    write_suite(tmp_path / "box" / "run.json", [make_bench(values=(2.0,)), threads, single])
    frame = tidy(load_results(tmp_path)).set_index("backend")
    assert frame.loc["threads", "speedup"] == pytest.approx(2.0)
    assert frame.loc["threads", "speedup_sway"] == pytest.approx(0.125)  # without a 2.0 process
    assert math.isnan(frame.loc["processes", "speedup_sway"])  # one process: nothing to leave out
    assert math.isnan(frame.loc["serial", "speedup_sway"])  # no pairs


def test_settling_reads_the_pairs_spread() -> None:
    group = SettleGroup(Point("cpu.fib", {}, "serial", 1, 2, 8),
                        (Point("cpu.fib", {}, "threads", 2, 2, 8),
                         Point("cpu.fib", {}, "processes", 2, 2, 8)))  # fmt: skip
    serial, tight, loose = group.baseline, *group.points
    benches = {
        tight.name: _paired("threads", 2, (1.0, 1.0, 1.0), (2.0, 2.02, 1.98)),
        loose.name: _paired("processes", 2, (1.0, 1.0, 1.0), (2.0, 1.5, 2.5)),
    }
    # No serial result needed: the pairs carry their own serial side.
    assert unsettled(group, benches.get, tolerance=0.02) == [loose]
    benches[serial.name] = make_bench(values=(2.0,))
    assert unsettled(group, benches.get, tolerance=0.5) == []
