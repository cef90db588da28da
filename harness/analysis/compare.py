"""``gilbench compare A B``: two result sets side by side, point by point.

A side is a result file, a machine folder, or a name (an interpreter tag such as
``cpython3.14t``, or a machine name) looked up in the results folder.  Whatever differs
between the two sides (the machine, the interpreter, or the run) is what is compared;
whatever they share is matched point by point.  Throughputs and speedups are both
compared (speedups are the figure that stays meaningful between machines whose absolute
speeds differ), each as a ratio B/A with its 95 % interval, tested on the points' worker
processes (gilbench.analysis.significance: Welch on log unit figures, Benjamini-Hochberg
over every test of the comparison, marked only beyond the noise the runs measured).
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyperf

from gilbench.analysis.rounds import run_pair_ratios
from gilbench.analysis.significance import adjust, log_welch, marked, noise_floor
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy_report
from gilbench.vocabulary import CONTEXT_KEY, POINT_KEY, backend_label, top_cores

# A point's coordinates within its context: what two sides are matched on.  Not the
# batch size: a pool's grows with the profile's tasks per worker, and throughputs are
# rates (tasks per second), comparable across batch sizes.
COORDINATES = [column for column in POINT_KEY if column not in (*CONTEXT_KEY, "tasks")]
#: Columns of the comparison for latency points: where their CPU load ran, how many workers.
LOAD_COLUMNS = {"load_in": "CPU work in", "load_workers": "CPU workers"}
SIDE_DIMENSIONS = ("machine", "interpreter")


class CompareError(ValueError):
    """The two sides cannot be compared; the message says why and what to give instead."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its rows (tidy) and every point's pyperf values."""

    label: str
    frame: pd.DataFrame
    # (machine, interpreter, name) -> per-process figures: median batch times, speedups
    units: dict[tuple[str, str, str], tuple[list[float], list[float]]]
    skipped: list[tuple[Path, str]]  # files the loader could not use, and why


def load_side(spec: str, results_dir: Path) -> Side:
    """The rows ``spec`` names: a file or folder, else a tag or machine in ``results_dir``."""
    path = Path(spec)
    source = path if path.exists() else results_dir
    found = load_results(source)
    tidied = tidy_report(found)
    loaded, frame = tidied.report_with_skipped(found), tidied.frame
    units = {
        (str(b.get_metadata().get("machine", s.machine)),
         str(b.get_metadata().get("interpreter", "")), b.get_name()): process_units(b)
        for s in loaded.suites for b in s.suite.get_benchmarks()
    }  # fmt: skip
    if not path.exists():
        frame = frame[(frame["interpreter"] == spec) | (frame["machine"] == spec)]
        if frame.empty:
            everything = tidied.frame
            raise CompareError(
                f"{spec!r} is neither a file or folder nor an interpreter or machine in "
                f"{results_dir} (interpreters: {', '.join(sorted(set(everything['interpreter'])))}"
                f"; machines: {', '.join(sorted(set(everything['machine'])))})"
            )
    if frame.empty:
        raise CompareError(f"{spec}: no usable results")
    return Side(spec, frame, units, loaded.skipped)


def _compared_dimensions(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(dimensions that differ between the sides, dimensions both share and match on)."""
    differ: list[str] = []
    shared: list[str] = []
    for column in SIDE_DIMENSIONS:
        (differ if set(a[column]) != set(b[column]) else shared).append(column)
    return differ, shared


def _whole_machine(frame: pd.DataFrame) -> pd.DataFrame:
    """Each workload's rows at the highest core count measured for it."""
    return frame[frame["cores"] == top_cores(frame)]


def process_units(bench: pyperf.Benchmark) -> tuple[list[float], list[float]]:
    """One benchmark's independent units: each worker process's median batch time, and
    the median of its per-pair speedups (processes without pairs give none)."""
    runs = [run for run in bench.get_runs() if run.values]
    ratios = (run_pair_ratios(run) for run in runs)
    return (
        [statistics.median(run.values) for run in runs],
        [statistics.median(r) for r in ratios if r],
    )


def _units(side: Side, row: dict[Hashable, Any], suffix: str) -> tuple[list[float], list[float]]:
    """The units behind one side of a merged row (shared columns lack a suffix)."""
    machine, interpreter = (str(row.get(c + suffix, row.get(c))) for c in SIDE_DIMENSIONS)
    return side.units.get((machine, interpreter, str(row["name" + suffix])), ([], []))


def _interval(row: dict[Hashable, Any], figure: str, suffix: str) -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        float(row.get(f"{figure}{end}{suffix}", math.nan)) for end in ("", "_ci_low", "_ci_high")
    )


def _tests(a: Side, b: Side, row: dict[Hashable, Any]) -> dict[str, Any]:
    """Both figures' ratios B/A with intervals and raw p-values (throughput: the
    inverse of the median batch times' ratio), and each figure's noise floor."""
    (times_a, speed_a), (times_b, speed_b) = _units(a, row, "_a"), _units(b, row, "_b")
    slower = log_welch(times_a, times_b)  # B's time over A's: throughput is its inverse
    speed = log_welch(speed_a, speed_b)
    floor = {
        f: noise_floor(_interval(row, f, "_a"), _interval(row, f, "_b"))
        for f in ("throughput", "speedup")
    }
    return {
        "B/A low": 1 / slower.high, "B/A high": 1 / slower.low, "p": slower.p,
        "speedup B/A low": speed.low, "speedup B/A high": speed.high, "speedup p": speed.p,
        "_floor": floor["throughput"], "_speedup_floor": floor["speedup"],
    }  # fmt: skip


def _mark(out: pd.DataFrame) -> pd.DataFrame:
    """Adjust every p-value of the comparison together (Benjamini-Hochberg) and mark
    the differences that are significant after it and beyond the noise floor."""
    adjusted = adjust([*out["p"], *out["speedup p"]])
    out["p adj"], out["speedup p adj"] = adjusted[: len(out)], adjusted[len(out) :]
    for prefix, floor, name in (
        ("", "_floor", "throughput significant"),
        ("speedup ", "_speedup_floor", "speedup significant"),
    ):
        out[name] = [
            marked(p, r, f)
            for p, r, f in zip(out[f"{prefix}p adj"], out[f"{prefix}B/A"], out[floor], strict=True)
        ]
    # The point's verdict in one column (the last): either figure marked.
    out["significant"] = out["throughput significant"] | out["speedup significant"]
    return out.drop(columns=["_floor", "_speedup_floor"])


def compare(a: Side, b: Side) -> pd.DataFrame:
    """One row per point measured on both sides: throughputs, their ratio and its
    significance, speedups and their ratio."""
    differ, shared = _compared_dimensions(a.frame, b.frame)
    for column in differ:
        for side in (a, b):
            if side.frame[column].nunique() > 1:
                found = ", ".join(sorted(side.frame[column].astype(str).unique()))
                raise CompareError(
                    f"{side.label} holds several values of {column} ({found}); name one "
                    f"result file or {column} per side"
                )
    frame_a, frame_b, key = a.frame, b.frame, COORDINATES + shared
    if "machine" in differ:
        # Machines have different CPU counts: compare each at its whole machine (its
        # highest core count per workload), where scaling is what users get.
        frame_a, frame_b = _whole_machine(frame_a), _whole_machine(frame_b)
        key = [c for c in key if c != "cores"]
    merged = frame_a.merge(frame_b, on=key, suffixes=("_a", "_b"))
    if merged.empty:
        raise CompareError(f"{a.label} and {b.label} have no point in common")
    rows = []
    # Latency points (a load_in) say where their CPU load ran and how many workers it had.
    loads = LOAD_COLUMNS if merged["load_in"].astype(bool).any() else {}
    for row in merged.to_dict("records"):
        tests = _tests(a, b, row)
        rows.append({
            "workload": f"{row['workload']}({row['params']})",
            "backend": backend_label(str(row["backend"]), row["start_method"]),
            "workers": row["workers"],
            **{title: row[column] for column, title in loads.items()},
            **({"cores": row["cores"]} if "cores" in row
               else {"A cores": row["cores_a"], "B cores": row["cores_b"]}),
            **{column: row[column] for column in shared},
            "A tasks/s": row["throughput_a"], "B tasks/s": row["throughput_b"],
            "B/A": row["throughput_b"] / row["throughput_a"],
            "B/A low": tests["B/A low"], "B/A high": tests["B/A high"], "p": tests["p"],
            "A speedup": row["speedup_a"], "B speedup": row["speedup_b"],
            "speedup B/A": row["speedup_b"] / row["speedup_a"],
            **{k: v for k, v in tests.items() if k.startswith(("speedup", "_"))},
        })  # fmt: skip
    out = _mark(pd.DataFrame(rows))
    if loads:  # counts stay whole numbers, with gaps for throughput points
        out[LOAD_COLUMNS["load_workers"]] = out[LOAD_COLUMNS["load_workers"]].astype("Int64")
    order = ["workload", "backend", "workers", *loads.values()]
    return out.sort_values(order).reset_index(drop=True)


#: What the marks mean, printed under the header of the text and Markdown tables.
LEGEND = (
    "B/A: B's throughput over A's (above 1: B is faster), with its 95 % interval; speedup "
    "B/A compares scaling, not speed.  Each is tested on the points' worker processes "
    "(Welch on log per-process figures); p adj: Benjamini-Hochberg over every test here. "
    "significant (*): p adj < 0.05 and the ratio further from 1 than the noise the runs "
    "measured (their own intervals); '–': fewer than 3 processes a side, no test."
)


def header(a: Side, b: Side) -> str:
    """What A and B are, in one line each, and what the marks mean."""
    lines = []
    for name, side in (("A", a), ("B", b)):
        machines = ", ".join(sorted(side.frame["machine"].astype(str).unique()))
        interpreters = ", ".join(sorted(side.frame["interpreter"].astype(str).unique()))
        lines.append(f"{name}: {side.label} ({machines}; {interpreters})")
    return "\n".join([*lines, LEGEND])


def _with_interval(value: float, low: float, high: float) -> str:
    if pd.isna(value):
        return "–"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def render(table: pd.DataFrame, fmt: str) -> str:
    """The comparison as ``text`` (aligned), ``md`` (a Markdown table) or ``csv`` (every
    column, ``significant`` true/false)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown = table.copy()
    for column in ("A tasks/s", "B tasks/s"):
        shown[column] = shown[column].map(lambda v: f"{v:,.1f}")
    for column in ("B/A", "speedup B/A"):
        shown[column] = [
            _with_interval(v, lo, hi)
            for v, lo, hi in zip(shown[column], shown[f"{column} low"], shown[f"{column} high"],
                                 strict=True)
        ]  # fmt: skip
    for column in ("A speedup", "B speedup"):
        shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
    for column in ("p adj", "speedup p adj"):
        shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    shown["significant"] = shown["significant"].map(lambda v: "*" if v else "")
    hidden = ["B/A low", "B/A high", "speedup B/A low", "speedup B/A high", "p", "speedup p",
              "throughput significant", "speedup significant"]  # fmt: skip
    shown = shown.drop(columns=hidden)
    for column in LOAD_COLUMNS.values():
        if column in shown:  # throughput points have no CPU load beside them
            shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) or v == "" else str(v))
    if fmt == "md":
        cells = [list(shown.columns), ["---"] * len(shown.columns)]
        cells += shown.astype(str).to_numpy().tolist()
        return "\n".join("| " + " | ".join(r).replace("\n", " ") + " |" for r in cells) + "\n"
    for column in ("workload", "backend"):  # names read best aligned left
        width = int(shown[column].astype(str).str.len().max())
        shown[column] = shown[column].astype(str).str.ljust(width)
    buffer = io.StringIO()
    shown.to_string(buffer, index=False, justify="left")
    return buffer.getvalue() + "\n"
