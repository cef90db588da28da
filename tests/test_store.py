"""The result store: atomic files, resumable runs, and a loader that trusts nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyperf
from helpers import make_bench, write_suite
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gilbench.analysis.store import RunFile, atomic_write_text, load_results, result_path
from gilbench.analysis.tidy import tidy
from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION
from gilbench.report.page import render_report

# Real output of gilbench before schema 2 (a quick run on a 2-CPU machine, cut down with
# pyperf's API to three cpu.fib points, every mixed.echo point and two switch intervals;
# every kept benchmark's runs as measured).  See tests/data/README.md.
SCHEMA_1 = Path(__file__).parent / "data" / "schema1"


def test_result_path_layout() -> None:
    path = result_path(Path("results"), "box", "20261124T101010Z", "cpython3.14t")
    assert path == Path("results/box/20261124T101010Z-cpython3.14t.json")


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "f.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_run_file_saves_after_every_point_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "box" / "20260101T000000Z-cpython3.11.json"
    path.parent.mkdir()
    run = RunFile(path)
    run.add(make_bench(backend="serial"))
    assert len(pyperf.BenchmarkSuite.load(str(path))) == 1
    run.add(make_bench(backend="threads", workers=2))
    resumed = RunFile(path)
    assert resumed.names == run.names
    assert len(resumed) == 2


def test_loader_skips_bad_files_with_a_reason_and_keeps_good_ones(tmp_path: Path) -> None:
    machine = tmp_path / "box"
    write_suite(machine / "good.json", [make_bench(), make_bench(backend="threads", workers=2)])
    (machine / "empty.json").write_text("")
    (machine / "truncated.json").write_text((machine / "good.json").read_text()[:50])
    (machine / "foreign.json").write_text(json.dumps({"hello": "world"}))
    plain = pyperf.Benchmark(
        [pyperf.Run([0.1, 0.2], metadata={"name": "plain", "loops": 1}, collect_metadata=False)]
    )
    write_suite(machine / "plain-pyperf.json", [plain])
    write_suite(machine / "future.json", [make_bench(gilbench_schema=99)])
    loaded = load_results(tmp_path)
    assert [s.path.name for s in loaded.suites] == ["good.json"]
    reasons = {path.name: reason for path, reason in loaded.skipped}
    assert set(reasons) == {
        "empty.json",
        "truncated.json",
        "foreign.json",
        "future.json",
        "plain-pyperf.json",
    }
    assert "newer" in reasons["future.json"]
    assert "not written by gilbench" in reasons["plain-pyperf.json"]
    frame = tidy(loaded)
    assert len(frame) == 2
    html = render_report(frame, loaded, tmp_path / "report", "bad files").read_text()
    for name in reasons:
        assert name in html  # the report renders and names every skipped file


def test_loader_accepts_a_single_file_and_a_machine_folder(tmp_path: Path) -> None:
    path = write_suite(tmp_path / "box" / "run.json", [make_bench()])
    (tmp_path / "box" / "machine.json").write_text(json.dumps({"machine": "box"}))
    assert len(load_results(path).suites) == 1
    assert len(load_results(tmp_path / "box").suites) == 1
    assert load_results(tmp_path / "missing").skipped


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_loader_never_crashes_on_mutated_files(tmp_path: Path, data: st.DataObject) -> None:
    good = write_suite(tmp_path / "src.json", [make_bench()]).read_bytes()
    position = data.draw(st.integers(min_value=0, max_value=len(good) - 1))
    mutation = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
    if mutation == "truncate":
        mutated = good[:position]
    elif mutation == "flip":
        mutated = good[:position] + bytes([good[position] ^ 0xFF]) + good[position + 1 :]
    else:
        mutated = good[:position] + data.draw(st.binary(min_size=1, max_size=8)) + good[position:]
    target = tmp_path / "box" / "mutated.json"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(mutated)
    loaded = load_results(tmp_path / "box")
    assert len(loaded.suites) + len(loaded.skipped) == 1
    tidy(loaded)  # rows that do load must convert, or be skipped with a reason


def test_schema_4_is_current() -> None:
    assert SCHEMA_VERSION == 4


def test_a_version_1_file_is_converted_on_read_and_renders(tmp_path: Path) -> None:
    (path,) = (SCHEMA_1 / "vm").glob("*-cpython3.11.json")
    before = path.read_bytes()
    loaded = load_results(SCHEMA_1)
    assert not loaded.skipped
    (suite,) = loaded.suites
    benches = suite.suite.get_benchmarks()
    assert {b.get_metadata()[SCHEMA_KEY] for b in benches} == {SCHEMA_VERSION}
    frame = tidy(loaded)
    assert len(frame) == len(benches) == 21
    # The load leaves the throughput coordinates: workers 1, no start method.
    latency = frame[frame["kind"] == "mixed"]
    assert set(latency["workers"]) == {1}
    assert set(latency["start_method"]) == {""}
    echo = latency[latency["workload"] == "mixed.echo"]
    assert set(echo["load_in"]) == {
        "threads", "processes[forkserver]", "asyncio[inline]", "asyncio[executor]"
    }  # fmt: skip
    assert sorted(set(echo["load_workers"])) == [0, 1, 2, 4]
    assert set(echo["backend"]) == {"threads", "processes", "asyncio"}
    # Names stay as they were written; each converts from its own backend and method.
    load = {name: (place, k) for name, place, k in
            zip(frame["name"], frame["load_in"], frame["load_workers"], strict=True)}  # fmt: skip
    head = "mixed.echo(chunk=20000,size=64)"
    assert load[f"{head} asyncio[inline] workers=0 cores=2"] == ("asyncio[inline]", 0)
    assert load[f"{head} asyncio[executor] workers=4 cores=2"] == ("asyncio[executor]", 4)
    assert load[f"{head} processes[forkserver] workers=2 cores=2"] == ("processes[forkserver]", 2)
    assert load[f"{head} threads workers=1 cores=2"] == ("threads", 1)
    switch = latency[latency["workload"] == "mixed.switch_interval"]
    assert set(zip(switch["load_in"], switch["load_workers"], strict=True)) == {("threads", 2)}
    assert sorted(switch["param_interval_ms"]) == [0.1, 20.0]
    # Throughput points are as they were, with no load.
    cpu = frame[frame["kind"] == "cpu"]
    assert sorted(zip(cpu["backend"], cpu["workers"], cpu["start_method"], strict=True)) == [
        ("processes", 2, "forkserver"), ("serial", 1, ""), ("threads", 2, "")
    ]  # fmt: skip
    assert set(cpu["load_in"]) == {""}
    assert cpu["load_workers"].isna().all()
    assert set(cpu["param_n"]) == {23}
    html = render_report(frame, loaded, tmp_path / "report", "schema 1").read_text()
    assert "latency vs CPU load" in html
    assert "latency and throughput vs switch interval" in html
    assert "asyncio[executor]" in html
    assert path.read_bytes() == before  # converted in memory, never rewritten


def test_a_version_1_point_that_cannot_be_converted_skips_its_file(tmp_path: Path) -> None:
    nowhere = make_bench("mixed.echo", "serial", 0, kind="mixed", gilbench_schema=1)
    write_suite(tmp_path / "box" / "old.json", [nowhere])
    old_throughput = make_bench(gilbench_schema=1)
    write_suite(tmp_path / "box" / "old-cpu.json", [old_throughput])
    loaded = load_results(tmp_path)
    assert [s.path.name for s in loaded.suites] == ["old-cpu.json"]
    ((path, reason),) = loaded.skipped
    assert path.name == "old.json"
    assert "cannot be converted from schema 1" in reason
    assert "no CPU load runs in 'serial'" in reason
    (row,) = tidy(loaded).to_dict("records")
    assert (row["load_in"], row["workers"]) == ("", 1)


def test_resuming_a_version_1_file_continues_it_in_the_current_schema(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "vm" / "run.json"
    path.parent.mkdir()
    shutil.copy(next((SCHEMA_1 / "vm").glob("*-cpython3.11.json")), path)
    run = RunFile(path)
    run.add(make_bench(workload="cpu.fib", backend="threads", workers=4, params="n=23"))
    saved = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    assert {b.get_metadata()[SCHEMA_KEY] for b in saved} == {SCHEMA_VERSION}
    loaded = load_results(path)
    assert not loaded.skipped
    assert len(tidy(loaded)) == 22
