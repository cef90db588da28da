"""The report's per-operation costs: families whose workloads are priced in microseconds
per operation (synchronisation primitives, start-up costs), uncontended and contended.

What a workload adds to its family's table is declared beside it (``shown_facts``, shown
as extra columns; ``cost_caveat``, a workload whose operation is not comparable with the
others', left out of the bars): this module names no workload.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from gilbench.report.catalogue import cost_caveats, shown_fact_columns
from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import op_cost_bars


def cost_table(rows: pd.DataFrame) -> pd.DataFrame:
    """µs per operation, a row per workload and a column per backend and workers:
    ``serial`` first, then ``threads x1``, ``threads x2`` ..."""
    column = rows["backend"].where(
        rows["backend"] == "serial", rows["backend"] + " x" + rows["workers"].astype(str)
    )
    table = rows.assign(column=column).pivot_table(
        index="workload", columns="column", values="op_cost_us", aggfunc="first", sort=False
    )
    ordered = sorted(table.columns, key=lambda c: (c != "serial", len(c), c))
    return table[ordered].sort_index()


def cost_figures(frame: pd.DataFrame, family: str, bars: bool = True) -> list[Figure]:
    """Microseconds per operation, uncontended (serial) and contended (threads x N), per
    machine, interpreter and core count; the bars are left out (``bars=False``) where many
    machines and interpreters make them many figures that the tables say as well."""
    figures = []
    for (machine, interpreter, cores), rows in frame.groupby(
        ["machine", "interpreter", "cores"], sort=True
    ):
        table = cost_table(rows)
        title = f"{family}: cost per operation, {machine}, {interpreter}, {cores} cores"
        shown = table.assign(
            **{heading: pd.Series(values, dtype=float)
               for heading, values in shown_fact_columns(rows).items()}
        )  # fmt: skip
        apart = cost_caveats(rows)
        figures.append(
            Figure(
                anchor=anchor(family, machine, interpreter, cores),
                title=title,
                svg=LazySvg(op_cost_bars, table.drop(index=list(apart), errors="ignore"), title)
                if bars
                else Markup(""),
                table=html_table(shown.rename_axis(index=None, columns=None), index=True),
                wide=True,
                caption=" ".join(["µs per operation.", *apart.values()]),
            )
        )
    return figures
