"""From result files to one tidy pandas DataFrame: one row per matrix point.

Statistics come from pyperf (median, mean, standard deviation of the values, each value
being one batch); derived figures follow DESIGN.md's vocabulary:

- throughput = tasks / median batch time (tasks per second)
- speedup = serial median / median, for the same machine, interpreter, workload,
  params, batch size and cores
- efficiency = speedup / min(workers, cores)
- effective cores = CPU time (process + children) / wall time of the timed batches
- karp_flatt = the experimentally determined serial fraction, (1/S - 1/p) / (1 - 1/p)
  with p = min(workers, cores)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyperf

from harness.metadata import typed
from harness.run_facts import FACT_PREFIX, combine_fact
from harness.store import LoadReport
from harness.verdict import karp_flatt

# The columns of `gilbench export`, in order; the first block is the documented contract.
COLUMNS = [
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
    "cores",
    "effective_cores",
    "karp_flatt",
    "cpu_time_s",
    "rsd",
    "ops_per_task",
    "op_cost_us",
    "load_before",
    "load_after",
    "backends_skipped",
    "run_id",
    "profile",
    "name",
    "file",
]

# A point is the same point when all of these agree.
POINT_KEY = [
    "machine",
    "interpreter",
    "workload",
    "params",
    "backend",
    "start_method",
    "workers",
    "cores",
    "tasks",
]
# Speedup compares points that differ only in backend and workers.
BASELINE_KEY = ["machine", "interpreter", "workload", "params", "tasks", "cores"]


def _python_version(metadata: dict[str, Any]) -> str:
    text = str(metadata.get("python_version", ""))
    return text.split(maxsplit=1)[0] if text else ""


def _effective_cores(bench: pyperf.Benchmark) -> tuple[float, float]:
    """(CPU seconds, effective cores) summed over all of a benchmark's timed runs."""
    cpu = wall = 0.0
    for run in bench.get_runs():
        meta = run.get_metadata()
        if "cpu_time_s" in meta and "timed_wall_s" in meta:
            cpu += float(meta["cpu_time_s"])
            wall += float(meta["timed_wall_s"])
    if wall <= 0:
        return float("nan"), float("nan")
    return cpu, cpu / wall


def _facts(bench: pyperf.Benchmark) -> dict[str, float]:
    """Workload facts (``fact_*`` run metadata) over the benchmark's runs: the mean, or
    the maximum for ``*_worst`` facts."""
    sums: dict[str, list[float]] = {}
    for run in bench.get_runs():
        if not run.values:
            continue
        for key, value in run.get_metadata().items():
            if key.startswith(FACT_PREFIX) and isinstance(value, int | float):
                sums.setdefault(key, []).append(float(value))
    return {key: combine_fact(key, values) for key, values in sums.items()}


def benchmark_row(bench: pyperf.Benchmark, machine: str, path: Path) -> dict[str, Any]:
    """One tidy row for one pyperf benchmark written by gilbench."""
    raw = bench.get_metadata()
    meta = typed(raw)
    values = bench.get_values()
    if not values:
        raise ValueError(f"benchmark {bench.get_name()!r} has no values")
    median = float(bench.median())
    mean = float(bench.mean())
    stdev = float(bench.stdev()) if len(values) > 1 else 0.0
    cpu, effective = _effective_cores(bench)
    ops = meta.get("ops_per_task", 1)
    return {
        "machine": meta.get("machine", machine),
        "interpreter": meta.get("interpreter", ""),
        "python_version": _python_version(raw),
        "gil_enabled": bool(meta.get("gil_enabled", 1)),
        "free_threaded": bool(meta.get("free_threaded", 0)),
        "workload": meta["workload"],
        "kind": meta.get("kind", ""),
        "params": "" if meta.get("params", "-") == "-" else meta["params"],
        "backend": meta["backend"],
        "start_method": "" if meta.get("start_method", "-") == "-" else meta["start_method"],
        "workers": meta["workers"],
        "tasks": meta["tasks"],
        "median_s": median,
        "mean_s": mean,
        "stdev_s": stdev,
        "n_values": len(values),
        "cores": meta.get("cores", 0),
        "effective_cores": effective,
        "cpu_time_s": cpu,
        "rsd": stdev / mean if mean > 0 else float("nan"),
        "ops_per_task": ops,
        "op_cost_us": median / (meta["tasks"] * ops) * 1e6,
        "backends_skipped": meta.get("backends_skipped", ""),
        "load_before": meta.get("load_before", float("nan")),
        "load_after": meta.get("load_after", float("nan")),
        "run_id": meta.get("run_id", ""),
        "profile": meta.get("profile", ""),
        "name": bench.get_name(),
        "file": str(path),
        **_facts(bench),
    }


def add_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Add throughput, speedup and efficiency columns (see the module docstring)."""
    out = frame.copy()
    out["throughput"] = out["tasks"] / out["median_s"]
    serial = (
        out[out["backend"] == "serial"]
        .groupby(BASELINE_KEY, dropna=False)["median_s"]
        .min()
        .rename("serial_median_s")
    )
    out = out.join(serial, on=BASELINE_KEY)
    out["speedup"] = out["serial_median_s"] / out["median_s"]
    parallelism = out[["workers", "cores"]].min(axis=1).clip(lower=1)
    out["efficiency"] = out["speedup"] / parallelism
    out["karp_flatt"] = [karp_flatt(s, p) for s, p in zip(out["speedup"], parallelism, strict=True)]
    return out.drop(columns=["serial_median_s"])


def tidy(report: LoadReport) -> pd.DataFrame:
    """One row per point over every loaded file; the newest run wins for repeated points."""
    rows = []
    for loaded in report.suites:
        for bench in loaded.suite.get_benchmarks():
            try:
                rows.append(benchmark_row(bench, loaded.machine, loaded.path))
            except (KeyError, ValueError) as exc:
                report.skipped.append((loaded.path, f"benchmark {bench.get_name()!r}: {exc}"))
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("run_id").drop_duplicates(POINT_KEY, keep="last")
    frame = add_derived(frame)
    frame = frame.sort_values(
        ["machine", "interpreter", "workload", "params", "cores", "backend", "workers"]
    ).reset_index(drop=True)
    facts = sorted(c for c in frame.columns if c.startswith(FACT_PREFIX))
    return frame[COLUMNS + facts]
