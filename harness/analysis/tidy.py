"""From result files to one tidy pandas DataFrame: one row per matrix point.

Statistics come from pyperf (median, mean, standard deviation of the values, each value
being one batch); derived figures follow docs/design.md's words:

- throughput = tasks / median batch time (tasks per second)
- tasks_per_worker = tasks / workers: a pool's batch holds at least the profile's
  (gilbench.run.matrix.batch_tasks); serial_tasks = the serial partner's fixed sample
- share_tail = the share of the usable pool workers left idle while a batch's last
  tasks finished (gilbench.measure.tail; NaN for backends without a pool)
- memory_mib, memory_per_worker_mib = the unique memory a backend adds over the serial
  point, and what each extra worker adds (gilbench.analysis.memory)
- speedup = serial time / time, per task (a rate: a pool's batch grows with its
  workers, the serial side times a fixed sample of the same tasks).  Schema 3 and later
  points measure it in time-paired batches: the median of the per-pair ratios (each
  backend batch's serial partner, timed beside it in the same worker, over it), over
  every process and round (gilbench.analysis.paired, with ``pairs``, ``paired_rounds``,
  ``capacity``, ``capacity_efficiency`` and the shares).  Points without pairs (serial
  points, older files) divide the serial point of the same machine, interpreter,
  workload, params, cores and run: the median over rounds of the ratio of the two round
  medians per task (rounds are interleaved passes over the matrix; pairing them cancels
  slow drift).  That estimate stays as
  ``baseline_speedup``, a cross-check, for every point.
- speedup_note = why ``speedup`` or ``baseline_speedup`` is empty, "" where neither is:
  no serial point in the point's own run ("no serial baseline in run 20261126T184920Z";
  another run's is never used: gilbench.analysis.baselines), a latency point, no round in
  common with its baseline
- profile_pairs, profile_rounds = the pairs (processes x values) and rounds the run's
  profile asks of a point, from its recorded ``pyperf_settings`` (gilbench.analysis.settings;
  NaN where not recorded), beside the ``pairs`` and ``paired_rounds`` it got
- speedup_spread = median absolute deviation of the per-pair ratios (else of those
  per-round ratios) over their median (NaN for fewer than two): how settled the speedup
  is (gilbench.run.settle)
- rsd = standard deviation / mean of the values inside each round (noise), averaged;
  round_drift = slowest round median / fastest - 1 (the machine changing under the run)
- efficiency = speedup / min(workers, cores)
- effective cores = CPU time (process + children) / wall time of the timed batches
- karp_flatt = the experimentally determined serial fraction, (1/S - 1/p) / (1 - 1/p)
  with p = min(workers, cores)
- cpu_list = the CPUs the point ran on, read back inside its pool's workers (``0-1``;
  empty in files written before it was recorded)
- suspect = why the point's numbers break physics (gilbench.analysis.physics: a
  pure-Python speedup above min(workers, cores), effective cores above the pinned CPUs),
  empty otherwise: such a row is not a result

Latency points (kind ``mixed``) time one request per value, so their values are the
latency distribution: p50, p90, p99 and max over all of them, the percentiles with 95 %
intervals (``p50_ms_ci_low`` ..), ``latency_samples`` and ``latency_trend``, and a
percentile too few requests support left empty with ``p99_note`` "max of 40" (empty for
other kinds, whose values are batch times; gilbench.analysis.latency_stats).  Their CPU
load has its own columns: ``load_in`` (where it runs: ``threads``,
``processes[forkserver]``, ``asyncio[inline]``, ``asyncio[executor]``) and
``load_workers`` (K CPU workers beside the responder, 0 for the responder alone); their
``workers`` is 1 and they have no speedup.  Throughput rows have ``load_in`` "" and
``load_workers`` missing (<NA>: the column is pandas' nullable Int64).

After the columns of :data:`COLUMNS` come, sorted by name, one column per workload fact
(``fact_*``, the run metadata a workload records) and then one per workload parameter,
``param_<name>``: the value as :func:`gilbench.vocabulary.parse_params` reads it (an int,
a float or text; a column of ints with gaps is float, as pandas makes it) and NaN in rows
whose workload lacks the parameter.  The ``params`` text (``k=v,k=v``) stays, as the key.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyperf

from gilbench.analysis.baselines import find_baselines, speedup_notes
from gilbench.analysis.intervals import INTERVAL_COLUMNS, add_intervals
from gilbench.analysis.latency_stats import LATENCY_COLUMNS, benchmark_latency_columns
from gilbench.analysis.memory import MEMORY_COLUMNS, add_memory, memory_facts
from gilbench.analysis.paired import PAIR_COLUMNS, add_paired, pair_facts
from gilbench.analysis.physics import suspect_reasons
from gilbench.analysis.rounds import paired_ratios, ratio_spread, values_by_round
from gilbench.analysis.settings import profile_pairs, recorded_settings
from gilbench.analysis.store import LoadReport
from gilbench.analysis.units import (
    PointKey,
    PointUnits,
    benchmark_units,
    by_point,
    units_frame,
    units_of,
)
from gilbench.analysis.verdict import karp_flatt
from gilbench.metadata import typed
from gilbench.vocabulary import (
    FACT_PREFIX,
    PARAM_PREFIX,
    POINT_KEY,
    combine_fact,
    parse_params,
)

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
    "load_in",
    "load_workers",
    "tasks",
    "tasks_per_worker",
    "serial_tasks",
    "median_s",
    "mean_s",
    "stdev_s",
    "n_values",
    "throughput",
    "speedup",
    "efficiency",
    "cores",
    "speedup_spread",
    "speedup_note",
    "suspect",
    "effective_cores",
    "karp_flatt",
    *INTERVAL_COLUMNS,  # 95 % intervals from whole processes (analysis.intervals)
    *PAIR_COLUMNS,  # pairs, capacity, shares (gilbench.analysis.paired)
    *MEMORY_COLUMNS,  # memory per backend and per worker (gilbench.analysis.memory)
    "profile_pairs",  # pairs and rounds the run's profile asks for (analysis.settings)
    "profile_rounds",
    "cpu_time_s",
    "rsd",
    "rounds",
    "round_drift",
    "ops_per_task",
    "op_cost_us",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    *LATENCY_COLUMNS,  # latency_samples, p50_ms_ci_low .. p99_note, latency_trend
    "machine_cpus",
    "cpu_list",
    "load_before",
    "load_after",
    "backends_skipped",
    "run_id",
    "profile",
    "settle_tolerance",
    "sway_tolerance",
    "name",
    "file",
]

# The order of the rows.
ROW_ORDER = [
    "machine",
    "interpreter",
    "workload",
    "params",
    "cores",
    "backend",
    "load_in",
    "workers",
    "load_workers",
]


def _python_version(metadata: dict[str, Any]) -> str:
    text = str(metadata.get("python_version", ""))
    return text.split(maxsplit=1)[0] if text else ""


def _machine_cpus(meta: dict[str, Any]) -> int:
    """How many CPUs the run was allowed (its affinity, e.g. ``0-3,6``), else the
    machine's logical CPUs, else the point's own cores: the machine's size, whatever
    the point was restricted to."""
    allowed = str(meta.get("allowed_cpus", ""))
    try:
        count = 0
        for part in filter(None, allowed.split(",")):
            low, _, high = part.partition("-")
            count += int(high or low) - int(low) + 1
    except ValueError:
        count = 0
    return count or int(meta.get("logical_cpus", 0)) or int(meta.get("cores", 1))


# Settling's tolerance for files that do not record it (written before it was recorded).
DEFAULT_SETTLE_TOLERANCE = 0.02


def _recorded_tolerance(meta: dict[str, Any], key: str, default: float) -> float:
    """A tolerance the run's profile recorded in ``pyperf_settings`` (``settle_tolerance``
    or ``sway_tolerance``), else ``default``."""
    text = recorded_settings(meta).get(key)
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default


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


def within_round_rsd(by_round: dict[int, list[float]]) -> float:
    """Relative standard deviation inside each round, averaged: measurement noise without
    the machine's drift between rounds."""
    spreads = [statistics.stdev(v) / statistics.mean(v) for v in by_round.values() if len(v) > 1]
    return sum(spreads) / len(spreads) if spreads else 0.0


def paired_speedup(serial_rounds: dict[int, float], point_rounds: dict[int, float]) -> float:
    """Median over the rounds both were measured in of serial time / point time.

    Pairing by round compares measurements taken minutes, not a whole run, apart, so a
    machine that slows down or speeds up between rounds does not bias the ratio.
    """
    ratios = paired_ratios(serial_rounds, point_rounds)
    return statistics.median(ratios) if ratios else float("nan")


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
    by_round = values_by_round(bench)
    load_in = "" if meta.get("load_in", "-") == "-" else meta["load_in"]
    if load_in and "load_workers" not in meta:
        raise ValueError(f"latency point in {load_in!r} without load_workers")
    rounds = {r: statistics.median(values) for r, values in by_round.items()}
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
        "load_in": load_in,
        "load_workers": meta["load_workers"] if load_in else None,
        "tasks": meta["tasks"],
        "tasks_per_worker": meta["tasks"] / max(1, int(meta["workers"])),
        "serial_tasks": meta.get("serial_tasks", meta["tasks"]),
        "median_s": median,
        "mean_s": mean,
        "stdev_s": stdev,
        "n_values": len(values),
        "cores": meta.get("cores", 0),
        "effective_cores": effective,
        "cpu_time_s": cpu,
        "rsd": within_round_rsd(by_round),
        "rounds": len(rounds),
        "round_drift": max(rounds.values()) / min(rounds.values()) - 1,
        "ops_per_task": ops,
        "op_cost_us": median / (meta["tasks"] * ops) * 1e6,
        "backends_skipped": meta.get("backends_skipped", ""),
        # Percentiles the requests support, intervals, notes (analysis.latency_stats).
        **benchmark_latency_columns(bench, bool(load_in)),
        "machine_cpus": _machine_cpus(meta),
        "cpu_list": meta.get("cpu_list", ""),
        "load_before": meta.get("load_before", float("nan")),
        "load_after": meta.get("load_after", float("nan")),
        "run_id": meta.get("run_id", ""),
        "profile": meta.get("profile", ""),
        "settle_tolerance": _recorded_tolerance(meta, "settle_tolerance", DEFAULT_SETTLE_TOLERANCE),
        # NaN where the run recorded none: its processes were never settled on it.
        "sway_tolerance": _recorded_tolerance(meta, "sway_tolerance", float("nan")),
        "name": bench.get_name(),
        "file": str(path),
        **_facts(bench),
        **pair_facts(bench),
        **memory_facts(bench),
        **profile_pairs(meta),
    }


def add_derived(
    frame: pd.DataFrame, units: Mapping[PointKey, PointUnits] | None = None
) -> pd.DataFrame:
    """Add throughput, speedup and efficiency columns (see the module docstring).

    ``units`` are the points' measurement units (gilbench.analysis.units.by_point; none:
    the rows' summaries only).  Speedup pairs the point with its serial baseline round by
    round when both have units (each round's median per task), else it divides the
    overall medians per task.  The baseline is the serial point of the same run
    (gilbench.analysis.baselines); a point whose run has none gets no speedup and a
    ``speedup_note`` saying why.
    """
    units = units or {}
    out = frame.copy()
    out["throughput"] = out["tasks"] / out["median_s"]
    baselines = find_baselines(out)
    speedups, spreads = [], []
    for base, row in zip(baselines, out.to_dict("records"), strict=True):
        spread = float("nan")
        own, theirs = units_of(row, units), units_of(base, units)
        if base is None:
            speedups.append(float("nan"))
        elif own.round_medians and theirs.round_medians:
            # Per task: a speedup divides rates (a pool's batch grows with its workers).
            mine, serial = own.per_task(row["tasks"]), theirs.per_task(base["tasks"])
            speedups.append(paired_speedup(serial, mine))
            ratios = paired_ratios(serial, mine)
            spread = ratio_spread(ratios) if len(ratios) > 1 else float("nan")
        else:  # rates: each side's time per task
            speedups.append((base["median_s"] / base["tasks"]) / (row["median_s"] / row["tasks"]))
        spreads.append(spread)
    out["speedup"] = speedups
    out["speedup_spread"] = spreads
    # The pairs' estimate where the point has pairs; the baseline's kept beside it.
    add_paired(out, units)
    out["speedup_note"] = speedup_notes(out, baselines, out["speedup"])
    parallelism = out[["workers", "cores"]].min(axis=1).clip(lower=1)
    out["efficiency"] = out["speedup"] / parallelism
    out["karp_flatt"] = [karp_flatt(s, p) for s, p in zip(out["speedup"], parallelism, strict=True)]
    add_memory(out, baselines)  # memory per backend and worker (gilbench.analysis.memory)
    return add_intervals(out, baselines, units)  # 95 % intervals (analysis.intervals)


@dataclass(frozen=True)
class Tidied:
    """The tidy table of a load report, its measurement units (one row per timed value:
    gilbench.analysis.units) and the benchmarks that could not become rows."""

    frame: pd.DataFrame
    skipped: tuple[tuple[Path, str], ...]
    units: pd.DataFrame = dataclasses.field(default_factory=lambda: units_frame([]))

    def report_with_skipped(self, report: LoadReport) -> LoadReport:
        """``report`` with these skipped benchmarks added to its skipped files (a copy)."""
        return dataclasses.replace(report, skipped=[*report.skipped, *self.skipped])


def tidy_report(report: LoadReport) -> Tidied:
    """One row per point over every loaded file (the newest run wins for repeated
    points), and the benchmarks whose metadata could not be read, with the reason.
    ``report`` is left as it was."""
    rows = []
    unit_rows: list[tuple[Any, ...]] = []
    skipped = []
    for loaded in report.suites:
        for bench in loaded.suite.get_benchmarks():
            try:
                row = benchmark_row(bench, loaded.machine, loaded.path)
                unit_rows += benchmark_units(bench, loaded.path)
            except (KeyError, ValueError) as exc:
                skipped.append((loaded.path, f"benchmark {bench.get_name()!r}: {exc}"))
                continue
            rows.append(row)
    if not rows:
        return Tidied(pd.DataFrame(columns=COLUMNS), tuple(skipped))
    frame = pd.DataFrame(rows).astype({"load_workers": "Int64", "latency_samples": "Int64"})
    units = units_frame(unit_rows)
    # Speedups first: a point kept from an older run still divides its own run's serial
    # point, which the newest run's serial point replaces below.
    frame = add_derived(frame, by_point(units))
    frame["suspect"] = suspect_reasons(frame)  # physics as a guard (analysis.physics)
    frame = frame.sort_values("run_id", kind="stable").drop_duplicates(POINT_KEY, keep="last")
    frame = frame.sort_values(ROW_ORDER).reset_index(drop=True)
    facts = sorted(c for c in frame.columns if c.startswith(FACT_PREFIX))
    kept = units.merge(frame[["file", "name"]], on=["file", "name"], how="inner")
    return Tidied(with_param_columns(frame[COLUMNS + facts]), tuple(skipped), kept)


def with_param_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with one ``param_<name>`` column per parameter in its ``params`` texts,
    sorted by name (see the module docstring)."""
    parsed = [parse_params(str(text)) for text in frame["params"]]
    names = sorted({name for params in parsed for name in params})
    columns = {
        PARAM_PREFIX + name: pd.Series([p.get(name, float("nan")) for p in parsed],
                                       index=frame.index).infer_objects()
        for name in names
    }  # fmt: skip
    return frame.assign(**columns)


def tidy(report: LoadReport) -> pd.DataFrame:
    """The tidy table of ``report`` (see :func:`tidy_report` for what it leaves out)."""
    return tidy_report(report).frame
