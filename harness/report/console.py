"""Terminal output: the progress bar while a matrix runs and the summary table after."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gilbench.vocabulary import LATENCY_KIND, backend_label


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
    frame = frame[frame["kind"] != LATENCY_KIND] if not frame.empty else frame
    if frame.empty:
        return table
    keys = ["workload", "params", "interpreter", "cores", "backend", "start_method"]
    for (workload, params, _, cores, backend, method), rows in frame.groupby(keys, sort=True):
        best = rows.iloc[int(rows["speedup"].fillna(-1).to_numpy().argmax())]
        label = backend_label(str(backend), method)
        table.add_row(
            escape(f"{workload}({params})"),
            str(cores),
            escape(label),
            _fmt(best["speedup"], "x"),
            str(best["workers"]),
            _fmt(best["efficiency"]),
            _fmt(best["effective_cores"]),
        )
    return table


def latency_table(frame: pd.DataFrame) -> Table | None:
    """Per mixed workload and place of the CPU load: p50 and p99 latency by CPU workers."""
    rows = frame[frame["kind"] == LATENCY_KIND] if not frame.empty else frame
    if rows.empty:
        return None
    table = Table(title="gilbench latency: p50 / p99 ms of the responder beside K CPU workers")
    counts = sorted(int(k) for k in rows["load_workers"].unique())
    for column in ("workload", "interpreter", "CPU work in", *(f"K={k}" for k in counts)):
        table.add_column(column, justify="right" if column.startswith("K=") else "left")
    keys = ["workload", "params", "interpreter", "load_in"]
    for (workload, params, interpreter, load_in), group in rows.groupby(keys, sort=True):
        by_k = {
            int(k): f"{p50:.2f} / {p99:.2f}"
            for k, p50, p99 in zip(
                group["load_workers"], group["p50_ms"], group["p99_ms"], strict=True
            )
        }
        cells = [by_k.get(k, "") for k in counts]
        table.add_row(
            escape(f"{workload}({params})"),
            escape(str(interpreter)),
            escape(str(load_in)),
            *cells,
        )
    return table


VERDICT_STYLES = {"GIL-bound": "bold red", "scales": "green"}


def verdict_table(frame: pd.DataFrame) -> Table:
    """The GIL verdict per workload at the highest core count (rule: analysis.verdict)."""
    from gilbench.analysis.verdict import judge_all

    table = Table(title="gilbench verdict: who wins at the highest core count, and is it the GIL?")
    for column in ("workload", "interpreter", "cores", "best backend", "threads", "evidence"):
        table.add_column(column, overflow="fold")
    for row in judge_all(frame):
        style = VERDICT_STYLES.get(row.threads, "")
        table.add_row(
            escape(f"{row.workload}({row.params})"),
            escape(row.interpreter),
            str(row.cores),
            escape(f"{row.best_backend} {row.best_speedup:.2f}x @ {row.best_workers}"),
            f"[{style}]{row.threads}[/]" if style else row.threads,
            escape(row.evidence),
        )
    return table
