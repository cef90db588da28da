"""The free-threaded path: PYTHON_GIL reaches the pyperf workers and is verified there.

Runs when a free-threaded interpreter is found (on PATH or built by
`gilbench python build 3.14.7 --free-threaded --source ...`), and is skipped with that
reason otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

from gilbench.measure.bridge import GilMismatchError, verify_gil
from gilbench.measure.interpreter import InterpreterInfo
from gilbench.run.pythons import discover
from gilbench.vocabulary import Point

ROOT = Path(__file__).resolve().parents[1]
FREE_THREADED = [p for p in discover() if p.free_threaded]


def _info(gil_enabled: bool) -> InterpreterInfo:
    return InterpreterInfo("CPython", "3.14.7", True, gil_enabled, sys.executable, "cpython3.14t")


def test_a_gil_state_other_than_requested_stops_the_point() -> None:
    point = Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4, gil_requested="0")
    verify_gil(point, _info(gil_enabled=False))
    with pytest.raises(GilMismatchError, match="re-enabled"):
        verify_gil(point, _info(gil_enabled=True))
    verify_gil(Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4), _info(gil_enabled=True))


@pytest.fixture(scope="module")
def ft_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv of the free-threaded interpreter with pyperf, psutil and gilbench (no extras)."""
    if not FREE_THREADED:
        pytest.skip("no free-threaded interpreter found: build one with `gilbench python "
                    "build 3.14.7 --free-threaded --source Python-3.14.7.tar.xz`")  # fmt: skip
    env = tmp_path_factory.mktemp("ft") / "venv"
    subprocess.run([FREE_THREADED[0].executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "pyperf", "psutil"], check=True, timeout=300)
    subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, timeout=300)
    return python


@pytest.mark.parametrize(("gil", "enabled"), [("0", 0), ("1", 1)])
def test_free_threaded_workers_run_with_the_gil_state_asked_for(
    ft_python: Path, tmp_path: Path, gil: str, enabled: int
) -> None:
    point = Point("cpu.fib", {"n": 12}, "threads", 2, 1, 4, gil_requested=gil)
    output = tmp_path / "point.json"
    subprocess.run(
        [str(ft_python), "-m", "gilbench.measure.bridge", "--point", point.to_json(),
         "--processes", "1", "--values", "1", "--warmups", "0", "--loops", "1",
         "--inherit-environ", "PYTHON_GIL", "--quiet", "--output", str(output)],
        check=True, timeout=300, env={**os.environ, "PYTHON_GIL": gil},
    )  # fmt: skip
    meta = pyperf.Benchmark.load(str(output)).get_metadata()
    assert meta["free_threaded"] == 1
    assert meta["gil_enabled"] == enabled
    tag = FREE_THREADED[0].tag
    assert meta["interpreter"] == (f"{tag}-gil" if gil == "1" else tag)


def test_interpreters_backend_runs_on_the_new_interpreter(ft_python: Path, tmp_path: Path) -> None:
    point = Point("cpu.fib", {"n": 12}, "interpreters", 2, 1, 4, gil_requested="1")
    output = tmp_path / "point.json"
    subprocess.run(
        [str(ft_python), "-m", "gilbench.measure.bridge", "--point", point.to_json(),
         "--processes", "1", "--values", "1", "--warmups", "0", "--loops", "1",
         "--inherit-environ", "PYTHON_GIL", "--quiet", "--output", str(output)],
        check=True, timeout=300, env={**os.environ, "PYTHON_GIL": "1"},
    )  # fmt: skip
    bench = pyperf.Benchmark.load(str(output))
    assert bench.get_metadata()["backend"] == "interpreters"
    assert bench.get_values()


def test_a_gil_re_enabled_while_the_pool_starts_stops_the_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gilbench.measure import bridge as pyperf_bridge

    measurement = pyperf_bridge.Measurement(Point("cpu.fib", {"n": 10}, "serial", 1, 1, 2))
    measurement.gil_recorded = False  # what the metadata says
    monkeypatch.setattr(pyperf_bridge, "gil_enabled_now", lambda: True)
    try:
        with pytest.raises(GilMismatchError, match="after starting the serial backend"):
            measurement.time_batches(1)
    finally:
        measurement.close()
