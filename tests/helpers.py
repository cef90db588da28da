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


def with_units(rows: list[dict[str, Any]]) -> tuple[Any, dict[tuple[str, str], Any]]:
    """Tidy rows written with a point's units inline (``_round_medians``: each round's
    median per task; ``_pair_ratios``: one process's pair ratios; ``_unit_ratios`` and
    ``_unit_values``: each process's) as a frame and the units map the analysis takes
    (gilbench.analysis.units.by_point's shape); each row gets a file and a name."""
    import pandas as pd

    from gilbench.analysis.units import PointUnits

    plain, units = [], {}
    for index, given in enumerate(rows):
        row = {"file": "f.json", "name": f"point {index}", **given}
        medians = row.pop("_round_medians", None)
        flat = row.pop("_pair_ratios", None)
        ratios = row.pop("_unit_ratios", None)
        values = row.pop("_unit_values", None)
        tasks = float(row.get("tasks", 1))
        units[(row["file"], row["name"])] = PointUnits(
            values=[list(v) for v in values] if values else [],
            ratios=[list(r) for r in ratios] if ratios else ([list(flat)] if flat else []),
            round_medians={r: m * tasks for r, m in medians.items()} if medians else {},
        )
        plain.append(row)
    return pd.DataFrame(plain), units
