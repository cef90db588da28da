"""The measurement units behind the tidy table: one row per timed value, beside the points.

A point's row holds its summaries (median, speedup, intervals); what they are computed
from is this table, one row per pyperf value: which point (``file``, ``name``), which
worker process (``process``, counted from 0 within the point), which round, the value
(``value_s``: a batch's seconds, or a request's latency) and, for a value with a serial
partner, the pair's ratio (``ratio``: partner / value, NaN without one).  The process is
the unit of independence (docs/statistics.md, "Units"); rounds pair a point with its
serial baseline in older files (docs/method.md, "Baselines from the same run").

:func:`by_point` groups the table once into :class:`PointUnits` for the analysis steps.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyperf

from gilbench.analysis.rounds import run_pair_ratios

#: The columns of the units table.
UNIT_COLUMNS = ["file", "name", "process", "round", "value_s", "ratio"]

#: A point's key in the units table.
PointKey = tuple[str, str]


def benchmark_units(bench: pyperf.Benchmark, path: Path | str) -> list[tuple[Any, ...]]:
    """The units table's rows of one benchmark (its runs with values, in order)."""
    rows: list[tuple[Any, ...]] = []
    name = bench.get_name()
    runs = [run for run in bench.get_runs() if run.values]
    for process, run in enumerate(runs):
        round_number = run.get_metadata().get("round", 1)
        if not isinstance(round_number, int):
            raise ValueError(f"round {round_number!r} is not an integer")
        ratios = run_pair_ratios(run)
        # Pairs that do not match the values one to one are none (run_pair_ratios).
        paired = len(ratios) == len(run.values)
        for index, value in enumerate(run.values):
            ratio = ratios[index] if paired else float("nan")
            rows.append((str(path), name, process, round_number, float(value), ratio))
    return rows


def units_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The units table from :func:`benchmark_units` rows."""
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


@dataclass(frozen=True)
class PointUnits:
    """One point's units, grouped: each process's values and pair ratios (processes
    without pairs left out of ``ratios``), and each round's median value."""

    values: list[list[float]] = field(default_factory=list)
    ratios: list[list[float]] = field(default_factory=list)
    round_medians: dict[int, float] = field(default_factory=dict)

    @property
    def pair_ratios(self) -> list[float]:
        """Every pair's ratio, process by process."""
        return [r for process in self.ratios for r in process]

    def per_task(self, tasks: float) -> dict[int, float]:
        """Each round's median value per task (a speedup divides rates)."""
        return {r: median / tasks for r, median in self.round_medians.items()}


NO_UNITS = PointUnits()


def by_point(units: pd.DataFrame) -> dict[PointKey, PointUnits]:
    """The units table grouped per point, in one pass over its rows (a groupby per point
    cost seconds over a report of several machines)."""
    values: dict[PointKey, dict[int, list[float]]] = {}
    ratios: dict[PointKey, dict[int, list[float]]] = {}
    rounds: dict[PointKey, dict[int, list[float]]] = {}
    columns = (units[c].tolist() for c in UNIT_COLUMNS)
    for file, name, process, round_number, value, ratio in zip(*columns, strict=True):
        key = (str(file), str(name))
        values.setdefault(key, {}).setdefault(int(process), []).append(float(value))
        ratios.setdefault(key, {}).setdefault(int(process), []).append(float(ratio))
        rounds.setdefault(key, {}).setdefault(int(round_number), []).append(float(value))
    return {
        key: PointUnits(
            [per[p] for p in sorted(per)],
            # A process's pairs count only where every value has its partner.
            [r for p, r in sorted(ratios[key].items()) if not any(math.isnan(x) for x in r)],
            {r: statistics.median(v) for r, v in sorted(rounds[key].items())},
        )
        for key, per in values.items()
    }


def key_of(row: Mapping[Hashable, Any]) -> PointKey:
    """A tidy row's key in the units table."""
    return (str(row.get("file", "")), str(row.get("name", "")))


def keys_of(frame: pd.DataFrame) -> list[PointKey]:
    """Each tidy row's key in the units table (its file and benchmark name)."""
    empty = pd.Series("", index=frame.index)
    files, names = frame.get("file", empty), frame.get("name", empty)
    return [(str(f), str(n)) for f, n in zip(files, names, strict=True)]


def units_of(row: Mapping[Hashable, Any] | None, units: Mapping[PointKey, PointUnits]
             ) -> PointUnits:  # fmt: skip
    """The units of a tidy row (none for a row the table does not hold)."""
    return NO_UNITS if row is None else units.get(key_of(row), NO_UNITS)
