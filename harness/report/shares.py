"""Where the time went: the workers' time in timed batches, running, waiting for a CPU
and blocked (gilbench.measure.shares), as a stacked bar per backend and a sentence.

One figure per workload, machine, interpreter and params, beside its scaling overview:
each backend at its widest point (the most workers) at the highest core count.  The
sentence reads the bars by the workload's *kind*, never its name: for pure-Python work
("cpu") under threads with the GIL on, "blocked" is the GIL; otherwise it is I/O, locks
or the GIL, whichever the work waits for.
"""

from __future__ import annotations

import pandas as pd

from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import time_shares_bars

SHARE_COLUMNS = {
    "backend_label": "backend",
    "workers": "workers",
    "share_running": "running",
    "share_runqueue": "waiting for a CPU",
    "share_blocked": "blocked",
}
# Mention the run-queue share in the sentence from this share up.
RUNQUEUE_WORTH_SAYING = 0.10
# Below this blocked share the sentence does not explain what blocked means.
HARDLY_BLOCKED = 0.05


def widest_points(group: pd.DataFrame) -> pd.DataFrame:
    """Each backend's widest point (most workers) at the group's highest core count, with
    shares measured; sorted by backend label."""
    top: pd.DataFrame = group[
        (group["cores"] == group["cores"].max()) & group["share_running"].notna()
    ]
    if top.empty:
        return top
    widest: pd.DataFrame = top.loc[top.groupby("backend_label")["workers"].idxmax()]
    return widest.sort_values("backend_label")


def _blocked_means(row: pd.Series) -> str:
    """What blocked time is, for this row's kind, backend and GIL."""
    kind, backend, gil = row["kind"], row["backend"], bool(row["gil_enabled"])
    if kind == "cpu" and backend == "threads" and gil:
        return "with pure-Python work that is the GIL"
    if kind == "cpu" and backend in ("threads", "interpreters") and not gil:
        return "the GIL is off: that is locks, allocation or waiting on each other"
    return "waiting for I/O, locks or the GIL"


def shares_sentence(points: pd.DataFrame) -> str:
    """The bars in words: per backend but serial, how much of its workers' time was
    blocked (and what that is), and the run queue where it is worth saying."""
    parts = []
    for _, row in points[points["backend"] != "serial"].iterrows():
        who = f"{row['backend_label']} (workers={row['workers']})"
        if row["share_blocked"] < HARDLY_BLOCKED:
            text = f"{who} was hardly ever blocked ({row['share_blocked']:.0%})"
        else:
            text = (
                f"{who} spent {row['share_blocked']:.0%} of their time blocked: "
                f"{_blocked_means(row)}"
            )
        queued = row["share_runqueue"]
        if pd.notna(queued) and queued >= RUNQUEUE_WORTH_SAYING:
            text += f", and {queued:.0%} waiting for a CPU"
        parts.append(text)
    return "; ".join(parts) + "." if parts else ""


def shares_figure(workload: str, group: pd.DataFrame) -> Figure | None:
    """The stacked bars for one workload on one machine and interpreter with one params
    (None where no point has shares: files written before schema 3)."""
    if "share_running" not in group:
        return None
    points = widest_points(group)
    if points.empty:
        return None
    machine, interpreter, params = (str(points[c].iloc[0]) for c in ("machine", "interpreter",
                                                                     "params"))  # fmt: skip
    cores = int(points["cores"].iloc[0])
    title = f"{workload}({params}) on {machine}, {interpreter}, {cores} cores: where the time went"
    unknown = points["share_runqueue"].isna().any()
    caption = (
        "Of the workers' time inside timed batches (wall time x workers): running on a "
        "CPU, runnable but waiting for one, and blocked (the rest: asleep on the GIL, a "
        "lock, a queue or I/O), from each worker thread's scheduler statistics. "
        + shares_sentence(points)
        + (
            " Where the run queue is unknown (no /proc schedstat), blocked includes it."
            if unknown
            else ""
        )
    )
    return Figure(
        anchor=anchor(workload, machine, interpreter, params, "shares"),
        title=title,
        svg=LazySvg(time_shares_bars, points, title),
        table=html_table(points[list(SHARE_COLUMNS)].rename(columns=SHARE_COLUMNS)),
        caption=caption,
    )
