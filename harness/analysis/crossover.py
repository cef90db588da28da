"""Task size and the crossover: at what task length a parallel backend breaks even.

A workload measured at several parameter values (a task-size sweep: a workload that
declares ``sweep_params``; or any workload run with every parameter) gives, at the highest core
count k and one worker per core, each backend's speedup against the serial time of one
task.  A process pool pays to pickle, ship and wake a worker for every task, a thread
pool far less: below some task length that cost is the work.  This module finds, per
backend:

- where it **breaks even with serial**: the task length from which its speedup stays
  at or above 1 (interpolated on log scales between the last length below 1 and the next);
- where it **breaks even with threads**: the same for its speedup over threads' at the
  same length (the two pairs' ratio).

The interval of a break-even is where the ends of the speedup intervals cross 1: the
upper end first (the shortest task at which breaking even is still plausible), the lower
end last.  A ratio's interval combines the two speedups' intervals on the log scale in
quadrature (their pairs were measured in different workers, so independently).  A curve
above 1 at every length breaks even below the shortest measured (``-inf``); one below 1
at the longest, above the longest (``inf``).  Rules and the sweep's design:
docs/method.md, "Task size and the crossover".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gilbench.analysis.physics import suspect_mask
from gilbench.vocabulary import CONTEXT_KEY, HEADLINE_KINDS, backend_label

#: The columns of :func:`task_size_curves`.
CURVE_COLUMNS = [
    *CONTEXT_KEY,
    "workload",
    "params",
    "cores",
    "backend",
    "task_us",
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
]
#: The columns of :func:`crossover_table` (its CSV).
CROSSOVER_COLUMNS = [
    *CONTEXT_KEY,
    "workload",
    "cores",
    "backend",
    "against",
    "break_even_us",
    "break_even_ci_low_us",
    "break_even_ci_high_us",
    "lengths_measured",
]


def task_size_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Speedup against task length: one row per (context, workload, params, backend) of
    a headline workload measured at two or more parameter values, at its highest core
    count and workers = cores; ``task_us`` is the serial point's median time per task.

    Workloads measured at one parameter value have no curve; suspect points (beyond
    physics) are left out."""
    if frame.empty:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    rows = frame[frame["kind"].isin(HEADLINE_KINDS) & ~suspect_mask(frame)]
    top = rows.groupby([*CONTEXT_KEY, "workload"], dropna=False)["cores"].transform("max")
    rows = rows[rows["cores"] == top]
    swept = rows.groupby([*CONTEXT_KEY, "workload"], dropna=False)["params"].transform("nunique")
    rows = rows[swept >= 2]
    serial = rows[rows["backend"] == "serial"]
    per_task = (serial["median_s"] / serial["tasks"] * 1e6).rename("task_us")
    keys = [*CONTEXT_KEY, "workload", "params", "cores"]
    lengths = serial[keys].assign(task_us=per_task).drop_duplicates(keys)
    pools = rows[(rows["backend"] != "serial") & (rows["workers"] == rows["cores"])]
    labels = zip(pools["backend"], pools["start_method"], strict=True)
    pools = pools.assign(backend=[backend_label(str(b), m) for b, m in labels])
    joined = pools.merge(lengths, on=keys, how="inner")
    joined = joined[joined["task_us"] > 0]
    for column in ("speedup_ci_low", "speedup_ci_high"):
        if column not in joined:
            joined[column] = math.nan
    return (
        joined[CURVE_COLUMNS].sort_values([*keys[:-2], "backend", "task_us"]).reset_index(drop=True)
    )


def break_even(lengths: Sequence[float], values: Sequence[float]) -> float:
    """The length from which ``values`` stay at or above 1, interpolated between the last
    length below 1 and the next on log scales; ``-inf`` if none is below 1, ``inf`` if
    the last is (or the values are missing)."""
    x, y = np.asarray(lengths, dtype=float), np.asarray(values, dtype=float)
    if len(x) == 0 or np.isnan(y).any() or (y <= 0).any():
        return math.nan
    below = np.flatnonzero(y < 1.0)
    if below.size == 0:
        return -math.inf
    last = int(below[-1])
    if last == len(y) - 1:
        return math.inf
    lx, ly = np.log(x[last : last + 2]), np.log(y[last : last + 2])
    share = (0.0 - ly[0]) / (ly[1] - ly[0])
    return float(math.exp(lx[0] + share * (lx[1] - lx[0])))


@dataclass(frozen=True)
class Crossover:
    """Where one backend breaks even (µs of one task), with its interval's ends."""

    machine: str
    interpreter: str
    gil_enabled: object
    workload: str
    cores: int
    backend: str
    against: str  # "serial" or "threads"
    task_us: float
    low_us: float
    high_us: float
    lengths: tuple[float, ...]

    def text(self) -> str:
        """``at 120 µs [80 µs, 190 µs]``, ``below 9 µs (the shortest measured)`` or
        ``above ...``."""
        shortest, longest = min(self.lengths), max(self.lengths)
        if math.isnan(self.task_us):
            return "–"
        if self.task_us == -math.inf:
            return f"below {duration_text(shortest)} (the shortest measured)"
        if self.task_us == math.inf:
            return f"above {duration_text(longest)} (the longest measured)"
        low = "<" + duration_text(shortest) if self.low_us == -math.inf else duration_text(
            self.low_us)  # fmt: skip
        high = ">" + duration_text(longest) if self.high_us == math.inf else duration_text(
            self.high_us)  # fmt: skip
        if math.isnan(self.low_us) or math.isnan(self.high_us):
            return f"at {duration_text(self.task_us)} (no interval)"
        return f"at {duration_text(self.task_us)} [{low}, {high}]"


def duration_text(us: float) -> str:
    """A task length in µs as ``35 µs``, ``1.2 ms`` or ``12 ms``."""
    if us >= 1000:
        ms = us / 1000
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    return f"{us:.0f} µs"


def _ratio_curve(curve: pd.DataFrame, threads: pd.DataFrame) -> pd.DataFrame:
    """The backend's speedup over threads' at each length both were measured at."""
    both = curve.merge(threads, on="params", suffixes=("", "_t"))
    ratio = both["speedup"] / both["speedup_t"]
    half = [
        math.hypot(*(math.log(h / lo) / 2 for h, lo in pairs))
        if all(h > 0 and lo > 0 for h, lo in pairs)
        else math.nan
        for pairs in zip(
            zip(both["speedup_ci_high"], both["speedup_ci_low"], strict=True),
            zip(both["speedup_ci_high_t"], both["speedup_ci_low_t"], strict=True),
            strict=True,
        )
    ]
    return both.assign(
        speedup=ratio,
        speedup_ci_low=ratio * np.exp(-np.asarray(half, dtype=float)),
        speedup_ci_high=ratio * np.exp(np.asarray(half, dtype=float)),
    )


def _crossover(first: pd.Series, curve: pd.DataFrame, against: str) -> Crossover:
    lengths = curve["task_us"].tolist()
    return Crossover(
        machine=str(first["machine"]),
        interpreter=str(first["interpreter"]),
        gil_enabled=first["gil_enabled"],
        workload=str(first["workload"]),
        cores=int(first["cores"]),
        backend=str(first["backend"]),
        against=against,
        task_us=break_even(lengths, curve["speedup"].tolist()),
        # The upper ends reach 1 first: the earliest length still plausible.
        low_us=break_even(lengths, curve["speedup_ci_high"].tolist()),
        high_us=break_even(lengths, curve["speedup_ci_low"].tolist()),
        lengths=tuple(float(x) for x in lengths),
    )


def crossovers(frame: pd.DataFrame) -> list[Crossover]:
    """Every backend's break-even with serial, and with threads (for the others), per
    context and swept workload (see the module docstring)."""
    curves = task_size_curves(frame)
    found: list[Crossover] = []
    for _, rows in curves.groupby([*CONTEXT_KEY, "workload"], sort=True, dropna=False):
        threads = rows[rows["backend"] == "threads"][
            ["params", "speedup", "speedup_ci_low", "speedup_ci_high"]
        ]
        for _, unsorted in rows.groupby("backend", sort=True):
            curve = unsorted.sort_values("task_us")
            first = curve.iloc[0]
            found.append(_crossover(first, curve, "serial"))
            if str(first["backend"]) != "threads" and not threads.empty:
                ratio = _ratio_curve(curve, threads).sort_values("task_us")
                if len(ratio) >= 2:
                    found.append(_crossover(first, ratio, "threads"))
    return found


def crossover_table(found: list[Crossover]) -> pd.DataFrame:
    """:func:`crossovers`' result as a table (``gilbench export --table crossover``, the
    report's ``crossover.csv``); infinite ends mean beyond the lengths measured."""
    rows = [
        {
            "machine": c.machine,
            "interpreter": c.interpreter,
            "gil_enabled": c.gil_enabled,
            "workload": c.workload,
            "cores": c.cores,
            "backend": c.backend,
            "against": c.against,
            "break_even_us": c.task_us,
            "break_even_ci_low_us": c.low_us,
            "break_even_ci_high_us": c.high_us,
            "lengths_measured": len(c.lengths),
        }
        for c in found
    ]
    return pd.DataFrame(rows, columns=CROSSOVER_COLUMNS)
