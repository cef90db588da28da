"""Synthetic gilbench result files, built with pyperf's own API (no measuring)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyperf

from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION


def make_bench(
    workload: str = "cpu.fib",
    backend: str = "serial",
    workers: int = 1,
    values: tuple[float, ...] = (0.1, 0.11, 0.09),
    **extra: Any,
) -> pyperf.Benchmark:
    """A benchmark shaped like one gilbench point."""
    meta: dict[str, Any] = {
        SCHEMA_KEY: SCHEMA_VERSION,
        "name": f"{workload}() {backend} workers={workers} cores=2",
        "workload": workload,
        "params": "n=20",
        "kind": "cpu",
        "backend": backend,
        "start_method": "-",
        "workers": workers,
        "cores": 2,
        "tasks": 32,
        "interpreter": "cpython3.11",
        "free_threaded": 0,
        "gil_enabled": 1,
        "gil_requested": "default",
        "machine": "box",
        "run_id": "20260101T000000Z",
        "profile": "quick",
        "unit": "second",
        "loops": 1,
        "cpu_time_s": sum(values),
        "timed_wall_s": sum(values),
    }
    meta.update(extra)
    run = pyperf.Run(list(values), warmups=None, metadata=meta, collect_metadata=False)
    return pyperf.Benchmark([run])


def write_suite(path: Path, benches: list[pyperf.Benchmark]) -> Path:
    """Write ``benches`` as a pyperf suite file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyperf.BenchmarkSuite(benches).dump(str(path), replace=True)
    return path


def gilbench(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gilbench ARGS`` (in ``env``, else this environment) and capture its
    output."""
    return subprocess.run(
        [sys.executable, "-m", "gilbench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
