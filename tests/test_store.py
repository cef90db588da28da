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
from gilbench.report.page import render_report


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
