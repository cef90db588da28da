"""A tiny real matrix through real pyperf workers: files, pyperf's own tools, CSV, report."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest
from helpers import gilbench

REQUIRED_COLUMNS = [
    "machine",
    "interpreter",
    "python_version",
    "gil_enabled",
    "free_threaded",
    "workload",
    "kind",
    "params",
    "backend",
    "start_method",
    "workers",
    "tasks",
    "median_s",
    "mean_s",
    "stdev_s",
    "n_values",
    "throughput",
    "speedup",
    "efficiency",
]


@pytest.fixture(scope="module")
def tiny_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One smoke-profile run of cpu.fib and io.sleep on every backend at 1 and 2 workers."""
    root = tmp_path_factory.mktemp("e2e")
    out = gilbench(
        "run",
        "--profile",
        "smoke",
        "--workload",
        "cpu.fib,io.sleep",
        "--workers",
        "1,2",
        "--param",
        "cpu.fib:n=14",
        "--param",
        "io.sleep:ms=2",
        "--tasks",
        "8",
        "--machine",
        "testbox",
        "--results",
        "results",
        "--reports",
        "reports",
        cwd=root,
    )
    return root, out


def _result_file(root: Path) -> Path:
    files = sorted((root / "results" / "testbox").glob("*-cpython*.json"))
    assert len(files) == 1, files
    return files[0]


def test_run_succeeds_and_prints_the_report_path(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, out = tiny_run
    assert out.returncode == 0, out.stdout + out.stderr
    assert "measured 14, resumed 0, failed 0 of 14 points" in out.stderr.replace("\n", " ")
    match = re.search(r"report: (\S+index\.html)", out.stderr)
    assert match, out.stderr
    assert (root / match.group(1)).exists()
    facts = json.loads((root / "results" / "testbox" / "machine.json").read_text())
    assert facts["machine"] == "testbox"
    assert facts["logical_cpus"] >= 1


def test_result_file_is_a_pyperf_suite_with_coordinates(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, _ = tiny_run
    path = _result_file(root)
    assert re.fullmatch(r"\d{8}T\d{6}Z-cpython\d\.\d+t?\.json", path.name)
    suite = pyperf.BenchmarkSuite.load(str(path))
    assert len(suite.get_benchmarks()) == 14
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        for key in (
            "workload",
            "params",
            "kind",
            "backend",
            "workers",
            "cores",
            "tasks",
            "interpreter",
            "gil_enabled",
            "free_threaded",
            "machine",
            "run_id",
        ):
            assert key in meta, (bench.get_name(), key)
        assert meta["tasks"] == 8
        runs = [r for r in bench.get_runs() if r.values]
        assert runs
        assert all("effective_cores" in r.get_metadata() for r in runs)
        if meta["backend"] == "processes":
            assert meta["start_method"] in ("forkserver", "spawn", "fork")


def test_pyperf_show_and_compare_to_accept_the_file(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, _ = tiny_run
    path = _result_file(root)
    show = subprocess.run(
        [sys.executable, "-m", "pyperf", "show", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert show.returncode == 0, show.stderr
    suite = pyperf.BenchmarkSuite.load(str(path))
    for name in suite.get_benchmark_names():
        assert name in show.stdout
    compare = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", str(path), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compare.returncode == 0, compare.stderr


def test_csv_export_has_the_documented_columns_and_sane_numbers(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, _ = tiny_run
    out = gilbench("export", "results", "--format", "csv", cwd=root)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 14
    assert set(REQUIRED_COLUMNS) <= set(rows[0])
    for row in rows:
        assert row["machine"] == "testbox"
        assert float(row["median_s"]) > 0
        assert float(row["throughput"]) == pytest.approx(8 / float(row["median_s"]))
        if row["backend"] == "serial":
            assert float(row["speedup"]) == 1.0
        assert float(row["speedup"]) > 0


def test_report_shows_a_plot_per_workload_and_the_csv_numbers(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, _ = tiny_run
    out = gilbench("report", "results", "-o", "reports/all", cwd=root)
    assert out.returncode == 0, out.stderr
    html = (root / "reports" / "all" / "index.html").read_text()
    assert html.count("<svg") == 2  # one figure per workload on this one machine/interpreter
    assert "ideal (= workers)" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    assert "<script src" not in html
    rows = list(csv.DictReader((root / "reports" / "all" / "results.csv").open()))
    for row in rows:
        speedup = f"{float(row['speedup']):,.3f}"
        assert f"<td>{speedup}</td>" in html, (row["name"], speedup)
