"""The task-size figure: a swept workload's speedups against task length, and where each
backend breaks even (gilbench.analysis.crossover)."""

from __future__ import annotations

import math

import pandas as pd

from gilbench.analysis.crossover import Crossover, crossovers, duration_text, task_size_curves
from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import speedup_vs_task_length

CAPTION = (
    "Each point is a backend's speedup at one worker per core for tasks of one length "
    "(the serial time of one task). A backend breaks even with serial where its line "
    "crosses 1 and stays above it (dotted); the bracket is where the ends of the "
    "intervals cross it. Below that length, what a pool pays per task (pickling, "
    "shipping, waking a worker) is more than the task's work."
)


def break_even_lines(found: list[Crossover]) -> list[str]:
    """One sentence per backend: ``processes breaks even with serial at 120 µs [80, 190],
    with threads at 150 µs [90, 260]``."""
    lines = []
    by_backend: dict[tuple[str, str, str], dict[str, Crossover]] = {}
    for c in found:
        by_backend.setdefault((c.workload, c.interpreter, c.backend), {})[c.against] = c
    for (workload, interpreter, backend), against in by_backend.items():
        parts = [f"with {name} {c.text()}" for name, c in against.items()]
        lines.append(f"{workload} ({interpreter}): {backend} breaks even " + ", ".join(parts))
    return lines


def _table(found: list[Crossover]) -> pd.DataFrame:
    rows = [
        {"backend": c.backend, "breaks even with": c.against, "task length": c.text()}
        for c in found
    ]
    return pd.DataFrame(rows)


def task_size_figures(workload: str, rows: pd.DataFrame) -> list[Figure]:
    """One figure per machine and interpreter where ``workload`` was measured at two or
    more task lengths; none otherwise."""
    curves = task_size_curves(rows)
    if curves.empty:
        return []
    found = crossovers(rows)
    figures = []
    for (machine, interpreter), group in curves.groupby(["machine", "interpreter"], sort=True):
        here = [c for c in found if (c.machine, c.interpreter) == (machine, interpreter)]
        marks = [(c.backend, c.task_us) for c in here
                 if c.against == "serial" and math.isfinite(c.task_us)]  # fmt: skip
        cores = int(group["cores"].max())
        title = f"{workload} on {machine}, {interpreter}, {cores} cores: task size"
        lengths = ", ".join(duration_text(x) for x in sorted(group["task_us"].unique()))
        figures.append(
            Figure(
                anchor=anchor(workload, machine, interpreter, "task-size"),
                title=title,
                svg=LazySvg(speedup_vs_task_length, group, marks, title),
                table=html_table(_table(here)),
                caption=f"{CAPTION} Lengths measured: {lengths}.",
            )
        )
    return figures
