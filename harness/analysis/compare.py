"""``gilbench compare A B``: two result sets side by side, point by point.

A side is a result file, a machine folder, or a name (an interpreter tag such as
``cpython3.14t``, or a machine name) looked up in the results folder.  Whatever differs
between the two sides (the machine, the interpreter, or the run) is what is compared;
whatever they share is matched point by point.  Throughputs are compared with a
Mann-Whitney test on pyperf's values; speedups are compared as speedups, the figure that
stays meaningful between machines whose absolute speeds differ.
"""

from __future__ import annotations

import io
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gilbench.analysis.significance import mann_whitney_p, significance_mark
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy_report
from gilbench.vocabulary import backend_label, top_cores

COORDINATES = [
    "workload",
    "params",
    "backend",
    "start_method",
    "workers",
    "load_in",
    "load_workers",
    "cores",
    "tasks",
]
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
    values: dict[tuple[str, str, str], list[float]]  # (machine, interpreter, name) -> values
    skipped: list[tuple[Path, str]]  # files the loader could not use, and why


def load_side(spec: str, results_dir: Path) -> Side:
    """The rows ``spec`` names: a file or folder, else a tag or machine in ``results_dir``."""
    path = Path(spec)
    source = path if path.exists() else results_dir
    found = load_results(source)
    tidied = tidy_report(found)
    loaded, frame = tidied.report_with_skipped(found), tidied.frame
    values = {
        (str(b.get_metadata().get("machine", s.machine)),
         str(b.get_metadata().get("interpreter", "")), b.get_name()): list(b.get_values())
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
    return Side(spec, frame, values, loaded.skipped)


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


def _values(side: Side, row: dict[Hashable, Any], suffix: str) -> list[float]:
    """The pyperf values behind one side of a merged row (shared columns lack a suffix)."""
    machine, interpreter = (str(row.get(c + suffix, row.get(c))) for c in SIDE_DIMENSIONS)
    return side.values.get((machine, interpreter, str(row["name" + suffix])), [])


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
        p = mann_whitney_p(_values(a, row, "_a"), _values(b, row, "_b"))
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
            "p": p, "significant": significance_mark(p),
            "A speedup": row["speedup_a"], "B speedup": row["speedup_b"],
            "speedup B/A": row["speedup_b"] / row["speedup_a"],
        })  # fmt: skip
    out = pd.DataFrame(rows)
    if loads:  # counts stay whole numbers, with gaps for throughput points
        out[LOAD_COLUMNS["load_workers"]] = out[LOAD_COLUMNS["load_workers"]].astype("Int64")
    order = ["workload", "backend", "workers", *loads.values()]
    return out.sort_values(order).reset_index(drop=True)


def header(a: Side, b: Side) -> str:
    """What A and B are, in one line each."""
    lines = []
    for name, side in (("A", a), ("B", b)):
        machines = ", ".join(sorted(side.frame["machine"].astype(str).unique()))
        interpreters = ", ".join(sorted(side.frame["interpreter"].astype(str).unique()))
        lines.append(f"{name}: {side.label} ({machines}; {interpreters})")
    return "\n".join(lines)


def render(table: pd.DataFrame, fmt: str) -> str:
    """The comparison as ``text`` (aligned), ``md`` (a Markdown table) or ``csv``."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown = table.copy()
    for column in ("A tasks/s", "B tasks/s"):
        shown[column] = shown[column].map(lambda v: f"{v:,.1f}")
    for column in ("B/A", "A speedup", "B speedup", "speedup B/A"):
        shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
    shown["p"] = shown["p"].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
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
