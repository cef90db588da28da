"""Terminal output: the progress bar while a matrix runs and the summary table after."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


def make_progress(console: Console) -> Progress:
    """A progress bar with counts, elapsed time and an ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[point]}", style="dim"),
        console=console,
    )


def _fmt(value: float, suffix: str = "") -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}{suffix}"


def summary_table(frame: pd.DataFrame) -> Table:
    """Per workload, cores and backend: the best speedup, where it was reached, and the
    effective cores there."""
    table = Table(title="gilbench summary: best speedup over serial per backend")
    for column in (
        "workload",
        "cores",
        "backend",
        "best speedup",
        "at workers",
        "efficiency",
        "effective cores",
    ):
        table.add_column(column, justify="left" if column in ("workload", "backend") else "right")
    if frame.empty:
        return table
    keys = ["workload", "params", "interpreter", "cores", "backend", "start_method"]
    for (workload, params, _, cores, backend, method), rows in frame.groupby(keys, sort=True):
        best = rows.iloc[int(rows["speedup"].fillna(-1).to_numpy().argmax())]
        label = f"{backend}[{method}]" if method else str(backend)
        table.add_row(
            f"{workload}({params})",
            str(cores),
            label,
            _fmt(best["speedup"], "x"),
            str(best["workers"]),
            _fmt(best["efficiency"]),
            _fmt(best["effective_cores"]),
        )
    return table
