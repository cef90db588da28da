"""Baselines from the same run (issue 15, item 5): a point divides the serial point of its
own run, never another run's; a slice measures its own serial points; a point without one
says why it has no speedup; the pairs behind a speedup are exported and counted."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import gilbench, make_bench, write_suite

from gilbench.analysis.baselines import (
    LATENCY_NOTE,
    PAIRS_ONLY,
    find_baselines,
    run_label,
    runs_of,
    speedup_notes,
)
from gilbench.analysis.noise import noise_warnings, pairs_warnings
from gilbench.analysis.settings import profile_pairs, recorded_settings
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import COLUMNS, add_derived, tidy_report
from gilbench.benchmarks import get_workload
from gilbench.report.speedups import best_per
from gilbench.run.command import RunOptions, plan_run
from gilbench.run.matrix import build_matrix
from gilbench.run.profiles import get_profile
from gilbench.vocabulary import BASELINE_KEY

OLD, NEW = "20260101T000000Z", "20260102T000000Z"


def _bench(backend: str, seconds: float, run_id: str, workers: int = 2, **extra: object) -> object:
    return make_bench(backend=backend, workers=1 if backend == "serial" else workers,
                      values=(seconds,) * 3, run_id=run_id, **extra)  # fmt: skip


def _by_backend(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {str(row["backend"]): row for _, row in frame.iterrows()}


# -- the key ---------------------------------------------------------------------------------


def test_the_baseline_key_names_the_run() -> None:
    assert "run_id" in BASELINE_KEY
    assert {"machine", "interpreter", "gil_enabled", "workload", "params",
            "cores"} <= set(BASELINE_KEY)  # fmt: skip
    # Not the batch: a pool's grows with its workers; the two divide as rates.
    assert "tasks" not in BASELINE_KEY


def test_each_run_divides_its_own_serial_point(tmp_path: Path) -> None:
    # Two runs on one machine and interpreter whose serial times differ twofold (the
    # machine was slower for the second): each point must divide its own run's.
    write_suite(tmp_path / "box" / f"{OLD}-cpython3.11.json", [
        _bench("serial", 0.2, OLD), _bench("threads", 0.1, OLD), _bench("processes", 0.1, OLD),
    ])  # fmt: skip
    # A later slice (threads only) that measured its own serial baseline.
    write_suite(tmp_path / "box" / f"{NEW}-cpython3.11.json", [
        _bench("serial", 0.4, NEW), _bench("threads", 0.1, NEW),
    ])  # fmt: skip
    frame = tidy_report(load_results(tmp_path)).frame
    by = _by_backend(frame)
    assert len(frame) == 3  # the newest run of a repeated point wins: serial and threads
    assert by["serial"]["run_id"] == NEW
    assert by["threads"]["run_id"] == NEW
    assert by["threads"]["speedup"] == pytest.approx(4.0)  # 0.4 / 0.1, not 0.2 / 0.1
    # The old run's processes point is kept and still divides the old run's serial point,
    # though the table shows the new one's.
    assert by["processes"]["run_id"] == OLD
    assert by["processes"]["speedup"] == pytest.approx(2.0)  # 0.2 / 0.1, not 0.4 / 0.1
    assert (frame["speedup_note"] == "").all()


def test_a_slice_without_serial_points_gets_no_speedup_and_a_reason(tmp_path: Path) -> None:
    # As gilbench wrote slices before they measured their own baselines.
    write_suite(tmp_path / "box" / f"{OLD}-cpython3.11.json", [
        _bench("serial", 0.2, OLD), _bench("threads", 0.1, OLD),
    ])  # fmt: skip
    write_suite(tmp_path / "box" / f"{NEW}-cpython3.11.json", [_bench("threads", 0.05, NEW)])
    frame = tidy_report(load_results(tmp_path)).frame
    by = _by_backend(frame)
    assert by["threads"]["run_id"] == NEW
    assert math.isnan(by["threads"]["speedup"])  # never 0.2 / 0.05 from the other run
    assert math.isnan(by["threads"]["efficiency"])
    assert by["threads"]["speedup_note"] == f"no serial baseline in run {NEW}"
    assert by["serial"]["speedup"] == 1.0
    assert by["serial"]["speedup_note"] == ""


def test_a_folder_without_any_serial_point_is_all_reasons(tmp_path: Path) -> None:
    write_suite(tmp_path / "box" / f"{NEW}-cpython3.11.json", [
        _bench("threads", 0.1, NEW), _bench("processes", 0.1, NEW),
    ])  # fmt: skip
    frame = tidy_report(load_results(tmp_path)).frame
    assert frame["speedup"].isna().all()
    assert (frame["speedup_note"] == f"no serial baseline in run {NEW}").all()


def _without_run_id(path: Path) -> None:
    """Remove every ``run_id`` from a written suite (pyperf allows no empty value)."""

    def strip(node: object) -> None:
        if isinstance(node, dict):
            node.pop("run_id", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    data = json.loads(path.read_text(encoding="utf-8"))
    strip(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_files_without_a_run_id_pair_within_their_file(tmp_path: Path) -> None:
    files = {
        "a.json": [_bench("serial", 0.2, "x"), _bench("threads", 0.1, "x")],
        "b.json": [_bench("serial", 0.4, "x"), _bench("processes", 0.1, "x")],
        "c.json": [_bench("asyncio", 0.1, "x")],
    }
    for name, benches in files.items():
        _without_run_id(write_suite(tmp_path / "box" / name, benches))
    frame = tidy_report(load_results(tmp_path)).frame
    by = _by_backend(frame)
    assert by["threads"]["speedup"] == pytest.approx(2.0)
    assert by["processes"]["speedup"] == pytest.approx(4.0)
    assert math.isnan(by["asyncio"]["speedup"])
    assert by["asyncio"]["speedup_note"] == "no serial baseline in run c.json"


def _row(backend: str, median: float, run_id: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": "cpu.fib", "params": "n=20", "tasks": 32, "cores": 2,
        "backend": backend, "workers": 1 if backend == "serial" else 2,
        "median_s": median, "run_id": run_id, "load_in": "",
    }  # fmt: skip
    row.update(extra)
    return row


def test_add_derived_pairs_rows_by_run() -> None:
    frame = add_derived(pd.DataFrame([
        _row("serial", 2.0, "a"), _row("threads", 1.0, "a"),
        _row("serial", 3.0, "b"), _row("threads", 1.0, "b"),
        _row("threads", 1.0, "c"),
    ]))  # fmt: skip
    threads = frame[frame["backend"] == "threads"].set_index("run_id")
    assert threads.loc["a", "speedup"] == 2.0
    assert threads.loc["b", "speedup"] == 3.0
    assert math.isnan(threads.loc["c", "speedup"])
    assert threads.loc["c", "speedup_note"] == "no serial baseline in run c"


def test_find_baselines_and_runs_of_frames_without_run_columns() -> None:
    frame = pd.DataFrame([_row("serial", 2.0, ""), _row("threads", 1.0, "")]).drop(columns="run_id")
    assert runs_of(frame).tolist() == ["", ""]  # one run: no run id, no file
    bases = find_baselines(frame)
    assert bases[0] is not None
    assert bases[1] is not None
    assert bases[1]["median_s"] == 2.0
    files = frame.assign(run_id=["", "r"], file=["/x/y/f.json", "/x/y/g.json"])
    assert runs_of(files).tolist() == ["/x/y/f.json", "r"]
    assert run_label("/x/y/f.json") == "f.json"
    assert run_label(NEW) == NEW


def test_speedup_notes_say_why_a_cell_is_empty() -> None:
    frame = pd.DataFrame([
        _row("threads", 1.0, "r"),  # no baseline, no pairs
        _row("threads", 1.0, "r", load_in="threads"),  # a latency point
        _row("threads", 1.0, "r"),  # no baseline, a speedup from its pairs
        _row("threads", 1.0, "r"),  # a baseline, no round in common
        _row("threads", 1.0, "r"),  # both
    ])  # fmt: skip
    serial = _row("serial", 2.0, "r")
    speedups = pd.Series([math.nan, math.nan, 1.5, math.nan, 2.0])
    frame["baseline_speedup"] = [math.nan, math.nan, math.nan, math.nan, 2.0]
    notes = speedup_notes(frame, [None, None, None, serial, serial], speedups)
    assert notes[0] == "no serial baseline in run r"
    assert notes[1] == LATENCY_NOTE
    assert notes[2] == "no serial baseline in run r" + PAIRS_ONLY
    assert "no round" in notes[3]
    assert notes[4] == ""


# -- a slice measures its own baseline -------------------------------------------------------


def test_a_slice_without_serial_gets_serial_points_at_every_core_count() -> None:
    fib = get_workload("cpu.fib")
    points = build_matrix([fib], ["threads"], get_profile("quick"), 2, cores=[1, 2])
    serial = [p for p in points if p.backend == "serial"]
    assert sorted(p.cores for p in serial) == [1, 2]
    assert all(p.workers == 1 for p in serial)
    threads = [p for p in points if p.backend == "threads"]
    assert {p.tasks for p in points} == {threads[0].tasks}  # one batch for the baseline too
    assert {p.cores for p in threads} == {1, 2}
    # Serial first at each core count, as in a full matrix.
    assert points[0].backend == "serial"
    full = build_matrix([fib], ["serial", "threads"], get_profile("quick"), 2, cores=[1, 2])
    assert points == full


def test_serial_is_added_only_where_a_throughput_workload_is_measured() -> None:
    quick = get_profile("quick")
    event, lock = get_workload("mixed.event"), get_workload("sync.lock")
    # Latency points have no speedup: no serial point for them.
    assert all(p.backend != "serial" for p in build_matrix([event], ["threads"], quick, 2))
    # A workload that runs on none of the chosen backends stays out.
    assert build_matrix([lock], ["processes"], quick, 2) == []
    with_serial = build_matrix([lock], ["threads"], quick, 2)
    assert sum(p.backend == "serial" for p in with_serial) == 1


def test_the_plan_line_says_serial_baselines_were_added(tmp_path: Path) -> None:
    def plan(backends: tuple[str, ...]) -> str:
        options = RunOptions(profile="smoke", workloads=("cpu.fib",), backends=backends,
                             results=str(tmp_path), machine="box")  # fmt: skip
        return plan_run(options).describe()

    assert "1 backends + serial baselines," in plan(("threads",))
    assert "+ serial baselines" not in plan(("serial", "threads"))
    assert "+ serial baselines" not in plan(())


def test_a_real_slice_on_an_empty_folder_gives_speedups(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = gilbench("run", "--profile", "smoke", "--workload", "cpu.fib", "--backend", "threads",
                    "--workers", "2", "--tasks", "4", "--results", str(results),
                    "--machine", "box", "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "+ serial baselines" in " ".join((done.stdout + done.stderr).split())
    export = gilbench("export", str(results))
    assert export.returncode == 0, export.stderr
    frame = pd.read_csv(io.StringIO(export.stdout))
    assert sorted(frame["backend"]) == ["serial", "threads"]
    assert frame["run_id"].nunique() == 1
    threads = frame[frame["backend"] == "threads"].iloc[0]
    assert threads["speedup"] > 0
    assert threads["baseline_speedup"] > 0  # the serial point measured alongside
    assert pd.isna(threads["speedup_note"])  # CSV: an empty note reads back as NaN
    # The export carries the pairs behind the speedup and what the profile asks for.
    assert threads["pairs"] == threads["profile_pairs"] == 2  # smoke: 1 process x 2 values
    assert threads["paired_rounds"] == threads["profile_rounds"] == 1


# -- the report over a table without speedups ------------------------------------------------


def test_best_per_keeps_groups_without_any_speedup() -> None:
    rows = pd.DataFrame({
        "backend_label": ["threads", "threads", "processes", "processes"],
        "cores": [2, 2, 2, 2],
        "speedup": [math.nan, math.nan, 1.5, 1.9],
    })  # fmt: skip
    best = best_per(rows, ["backend_label", "cores"]).set_index("backend_label")
    assert best.loc["processes", "speedup"] == 1.9
    assert math.isnan(best.loc["threads", "speedup"])
    assert best_per(rows.iloc[:0], ["backend_label", "cores"]).empty


def test_a_point_beyond_physics_is_never_the_best_while_a_result_is_there() -> None:
    """On 16 vCPUs of unequal speed, cpu.fib processes with 4 workers on 2 CPUs read 2.24x
    (their serial partners ran on a slow CPU): marked suspect, and not the best at 2 cores,
    in the table or in the scaling overview's line."""
    rows = pd.DataFrame({
        "backend_label": ["processes"] * 3 + ["threads"],
        "cores": [2, 2, 2, 2],
        "workers": [1, 2, 4, 4],
        "speedup": [1.09, 1.65, 2.24, 2.5],
        "suspect": ["", "", "speedup 2.24x with 4 workers on 2 cores", "beyond"],
    })  # fmt: skip
    best = best_per(rows, ["backend_label", "cores"]).set_index("backend_label")
    assert best.loc["processes", "speedup"] == 1.65
    assert best.loc["threads", "speedup"] == 2.5  # nothing else: kept, its cell marked
    assert "suspect" in best.columns
    assert "_suspect" not in best.columns


def test_the_scaling_overview_marks_a_cell_beyond_physics() -> None:
    from gilbench.report.plots import scaling_overview

    rows = pd.DataFrame({
        "backend_label": ["serial", "processes", "processes"],
        "backend": ["serial", "processes", "processes"],
        "cores": [2, 2, 2],
        "workers": [1, 2, 4],
        "speedup": [1.0, 1.65, 2.24],
        "efficiency": [1.0, 0.82, 1.12],
        "effective_cores": [1.0, 1.9, 1.9],
        "suspect": ["", "", "speedup 2.24x with 4 workers on 2 cores"],
    })  # fmt: skip
    svg = scaling_overview(rows, "cpu.fib")
    assert "1.12*" in svg
    assert "0.82*" not in svg
    assert "beyond physics" in svg
    clean = scaling_overview(rows.assign(suspect=""), "cpu.fib")
    assert "1.12*" not in clean
    assert "1.12" in clean
    assert "beyond physics" not in clean


# -- how many pairs --------------------------------------------------------------------------


def test_profile_pairs_come_from_the_recorded_settings() -> None:
    quick = {"pyperf_settings": get_profile("quick").pyperf_settings}
    assert recorded_settings(quick)["processes"] == "3"  # 3 units for an interval (issue 16)
    assert profile_pairs(quick) == {"profile_pairs": 6.0, "profile_rounds": 3.0}
    settings = "processes=3 rounds=3 values=4 warmups=0 loops=1"
    assert profile_pairs({"pyperf_settings": settings}) == {
        "profile_pairs": 12.0, "profile_rounds": 3.0,
    }  # fmt: skip
    for unknown in ({}, {"pyperf_settings": "processes=x values=4 rounds=0"}):
        assert all(math.isnan(v) for v in profile_pairs(unknown).values())


def test_a_point_that_records_its_values_per_process_is_held_to_them() -> None:
    """A headline point of quick gets 4 values per process (headline_values), so it is
    owed 12 pairs, not the 6 of quick's values; files without the key keep the 6."""
    quick = get_profile("quick")
    meta = {"pyperf_settings": quick.pyperf_settings, "values_per_process": 4}
    assert profile_pairs(meta)["profile_pairs"] == 3 * quick.headline_values == 12
    assert profile_pairs({**meta, "values_per_process": 2})["profile_pairs"] == 6


def _pairs_row(backend: str, workers: int, pairs: int, rounds: int, **extra: object) -> dict:
    row = {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": "cpu.fib", "params": "n=20", "kind": "cpu", "backend": backend,
        "start_method": "", "workers": workers, "cores": 2, "pairs": pairs,
        "paired_rounds": rounds, "profile_pairs": 8.0, "profile_rounds": 2.0, "capacity": 1.9,
    }  # fmt: skip
    row.update(extra)
    return row


def test_headline_speedups_on_fewer_pairs_than_the_profile_asks_are_named() -> None:
    frame = pd.DataFrame([
        _pairs_row("serial", 1, 0, 0),  # serial has no pairs: not named
        _pairs_row("threads", 2, 8, 2),  # all there
        _pairs_row("processes", 2, 5, 2),  # 3 pairs short
        _pairs_row("asyncio", 2, 8, 1),  # one round without pairs
        _pairs_row("threads", 4, 0, 0, capacity=math.nan),  # an older file: no pairs at all
        _pairs_row("threads", 8, 2, 1, profile_pairs=math.nan, profile_rounds=math.nan),
        _pairs_row("threads", 1, 1, 1),  # fewer workers than cores: not a headline
    ])  # fmt: skip
    (line,) = pairs_warnings(frame)
    assert line.startswith("2 of 4 headline speedups rest on fewer time-paired batches")
    assert "cpu.fib processes workers=2 cores=2: 5 of 8 pairs in 2 of 2 rounds" in line
    assert "cpu.fib asyncio workers=2 cores=2: 8 of 8 pairs in 1 of 2 rounds" in line
    assert "threads" not in line
    assert pairs_warnings(frame.drop(columns="profile_pairs")) == []
    assert pairs_warnings(frame.iloc[:2]) == []


def test_export_columns_carry_the_pairs_and_the_reason() -> None:
    for column in ("pairs", "paired_rounds", "profile_pairs", "profile_rounds", "speedup_note"):
        assert column in COLUMNS


def test_noise_warnings_name_short_pairs_in_a_real_table(tmp_path: Path) -> None:
    settings = "processes=2 rounds=2 values=4 warmups=0 loops=1"
    benches = [
        _bench("serial", 0.2, NEW, pyperf_settings=settings),
        # One value, one partner: 1 pair of the 8 the settings ask for.
        make_bench(backend="threads", workers=2, values=(0.1,), run_id=NEW,
                   pyperf_settings=settings, paired_serial_s="0.2", capacity=1.9),
    ]  # fmt: skip
    write_suite(tmp_path / "box" / f"{NEW}-cpython3.11.json", benches)
    frame = tidy_report(load_results(tmp_path)).frame
    threads = frame[frame["backend"] == "threads"].iloc[0]
    assert (threads["pairs"], threads["profile_pairs"]) == (1, 8)
    assert any("1 of 8 pairs in 1 of 2 rounds" in line for line in noise_warnings(frame))
