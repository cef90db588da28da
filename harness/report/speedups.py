"""The report's speedups: families measured by throughput whose speedups are headlines
(pure-Python CPU work, C code that releases the GIL, I/O), per workload.

One machine and interpreter: a scaling overview across core counts, then speedup against
workers with the numbers, per params and core count.  Several: one overlay per params.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from gilbench.analysis.intervals import BEYOND_MARK, is_beyond
from gilbench.analysis.paired import delivered_capacity
from gilbench.analysis.physics import suspect_mask
from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import (
    overlay_speedups,
    scaling_overview,
    speedup_vs_workers,
    threads_speedup_by_workload,
)
from gilbench.report.shares import shares_figure
from gilbench.report.task_size import task_size_figures
from gilbench.vocabulary import top_cores

TABLE_COLUMNS = {
    "backend_label": "backend",
    "workers": "workers",
    "median_ms": "median (ms)",
    "stdev_ms": "stdev (ms)",
    "n_values": "values",
    "throughput": "tasks/s",
    "speedup": "speedup [95 % interval]",
    "speedup_spread": "± spread (pairs, else rounds)",
    "efficiency": "efficiency",
    "capacity": "capacity (cores, for its kind of work)",
    "capacity_efficiency": "capacity efficiency",
    "effective_cores": "effective cores",
}
BEST_COLUMNS = {
    "backend_label": "backend",
    "workers": "at workers",
    "speedup": "best speedup [95 % interval]",
    "speedup_spread": "± spread (pairs, else rounds)",
    "capacity_efficiency": "capacity efficiency",
    "effective_cores": "effective cores",
    "karp_flatt": "serial fraction (Karp-Flatt)",
}
OVERLAY_COLUMNS = {
    "backend_label": "backend",
    "workers": "at workers",
    "speedup": "best speedup",
    "effective_cores": "effective cores",
}


def spread_text(spreads: pd.Series) -> pd.Series:
    """Speedup spreads as "±6.1%": over the time pairs (median absolute deviation of the
    per-pair ratios over their median), or over rounds for points measured without
    pairs (a dash where there is none: serial points, a single round)."""
    return spreads.map(lambda v: f"±{v:.1%}" if pd.notna(v) and v > 0 else "–")


def marked_speedups(rows: pd.DataFrame) -> pd.Series:
    """Speedups with their 95 % intervals ("1.710 [1.62, 1.80]": over whole processes,
    gilbench.analysis.intervals; "[1.41, 2.21]\u2020" where it reaches past what the cores
    allow, shown whole) and suspect ones marked ("1.480 ⚠ suspect":
    beyond physics, not a result; gilbench.analysis.physics); the numbers unchanged
    where neither applies."""
    suspect = suspect_mask(rows)
    low = rows.get("speedup_ci_low", pd.Series(float("nan"), index=rows.index))
    high = rows.get("speedup_ci_high", pd.Series(float("nan"), index=rows.index))
    has_interval = low.notna() & high.notna()
    if not suspect.any() and not has_interval.any():
        return rows["speedup"]
    text = rows["speedup"].map(lambda v: "–" if pd.isna(v) else f"{v:,.3f}")
    beyond = rows.get("speedup_ci_beyond_limit", pd.Series(False, index=rows.index))
    ranges = [
        f" [{lo:.2f}, {hi:.2f}]{BEYOND_MARK if is_beyond(far) else ''}" if ok else ""
        for lo, hi, ok, far in zip(low, high, has_interval, beyond, strict=True)
    ]
    text = text + pd.Series(ranges, index=rows.index, dtype=object)
    return text.where(~suspect, text + " ⚠ suspect")


def _numbers_table(rows: pd.DataFrame) -> Markup:
    view = rows.assign(median_ms=rows["median_s"] * 1e3, stdev_ms=rows["stdev_s"] * 1e3,
                       speedup_spread=spread_text(rows["speedup_spread"]),
                       speedup=marked_speedups(rows),
                       capacity=delivered_capacity(rows))  # fmt: skip
    columns = dict(TABLE_COLUMNS)
    if "speedup_note" in rows and rows["speedup_note"].fillna("").astype(bool).any():
        columns["speedup_note"] = "speedup note"  # why a cell is empty, or what it lacks
    return html_table(view[list(columns)].rename(columns=columns))


def _context_groups(rows: pd.DataFrame) -> list[tuple[tuple[str, str, str, int], pd.DataFrame]]:
    keys = ["machine", "interpreter", "params", "cores"]
    out = []
    for key, group in rows.groupby(keys, sort=True):
        machine, interpreter, params, cores = key
        out.append(((str(machine), str(interpreter), str(params), int(str(cores))), group))
    return out


def best_per(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Each group's row with the highest speedup that is a result: a point beyond
    physics (suspect) is best only in a group with nothing else, where its table cell
    says so.  A group with no speedup at all (no serial baseline in its run, no pairs)
    keeps a row, its speedup empty, rather than failing as ``idxmax`` over all-NaN does."""
    ranked = rows.assign(_suspect=suspect_mask(rows)).sort_values(
        ["_suspect", "speedup"], ascending=[True, False], na_position="last", kind="stable"
    )
    return ranked.drop_duplicates(keys).drop(columns="_suspect")


def _best_by_cores(rows: pd.DataFrame) -> Markup:
    best = best_per(rows, ["backend_label", "cores"])
    view = best[["backend_label", "cores", "workers", "speedup", "speedup_spread",
                 "efficiency", "capacity_efficiency", "effective_cores", "karp_flatt"]]  # fmt: skip
    view = view.assign(speedup_spread=spread_text(view["speedup_spread"]),
                       speedup=marked_speedups(best))  # fmt: skip
    return html_table(view.sort_values(["backend_label", "cores"]).rename(columns=BEST_COLUMNS))


def _overlay_figures(workload: str, rows: pd.DataFrame) -> list[Figure]:
    """Several machines or interpreters: one overlay per params, and the best points of
    each machine and interpreter at its highest core count."""
    figures = []
    rows = rows.assign(top_cores=top_cores(rows))
    for params, group in rows.groupby("params", sort=True):
        title = f"{workload}({params}): every machine and interpreter"
        top = group[(group["cores"] == group["top_cores"]) & (group["backend"] != "serial")]
        best = best_per(top, ["machine", "interpreter", "backend_label"])
        view = best[["machine", "interpreter", "backend_label", "cores", "workers", "speedup",
                     "efficiency", "effective_cores"]]  # fmt: skip
        figures.append(
            Figure(
                anchor=anchor(workload, params, "overlay"),
                title=title,
                svg=LazySvg(overlay_speedups, group.drop(columns="top_cores"), title),
                table=html_table(view.rename(columns=OVERLAY_COLUMNS)),
                caption="Each machine at its highest core count. A report over one machine "
                "and interpreter (gilbench report results/<machine>) has every core count.",
                wide=True,
            )
        )
    return figures


def _context_figures(workload: str, rows: pd.DataFrame) -> list[Figure]:
    """One machine and interpreter: a scaling overview per params, then speedup against
    workers with the numbers per core count."""
    overviews = []
    for (machine, interpreter, params), group in rows.groupby(
        ["machine", "interpreter", "params"], sort=True
    ):
        title = f"{workload}({params}) on {machine}, {interpreter}: scaling overview"
        overviews.append(
            Figure(
                anchor=anchor(workload, machine, interpreter, params, "overview"),
                title=title,
                svg=LazySvg(scaling_overview, group, title),
                table=_best_by_cores(group),
                wide=True,
            )
        )
        shares = shares_figure(workload, group)  # where the time went, beside it
        if shares is not None:
            overviews.append(shares)
    by_cores = []
    for (machine, interpreter, params, cores), unsorted in _context_groups(rows):
        title = f"{workload}({params}) on {machine}, {interpreter}, {cores} cores"
        group = unsorted.sort_values(["backend_label", "workers"])
        by_cores.append(
            Figure(
                anchor=anchor(workload, machine, interpreter, params, cores),
                title=title,
                svg=LazySvg(speedup_vs_workers, group, title),
                table=_numbers_table(group),
            )
        )
    return overviews + by_cores


def _one_worker_count(rows: pd.DataFrame) -> bool:
    """Whether every backend was measured at one worker count per params and cores (a
    task-size sweep): a curve against workers would be a single point."""
    pools = rows[rows["backend"] != "serial"]
    keys = ["machine", "interpreter", "params", "cores", "backend_label"]
    return bool(pools.empty or (pools.groupby(keys)["workers"].nunique() <= 1).all())


def workload_figures(workload: str, rows: pd.DataFrame, several: bool) -> list[Figure]:
    """One workload's figures: its task-size figure where it was measured at several
    task lengths, then the overlays over several machines or interpreters (``several``),
    else the scaling overview and speedups against workers (left out for a task-size
    sweep, which has one worker count)."""
    sizes = task_size_figures(workload, rows)
    if sizes and _one_worker_count(rows):
        return sizes
    return sizes + (
        _overlay_figures(workload, rows) if several else _context_figures(workload, rows)
    )


def released_control_figures(frame: pd.DataFrame) -> list[Figure]:
    """Threads speedup of every releasing workload beside the GIL-holding control."""
    threads = frame[frame["backend"] == "threads"]
    figures = []
    for (machine, interpreter, cores), rows in threads.groupby(
        ["machine", "interpreter", "cores"], sort=True
    ):
        labelled = rows.assign(label=rows["workload"] + "(" + rows["params"] + ")")
        title = f"threads: releasing workloads vs the control, {machine}, {interpreter}"
        best = (
            labelled.sort_values("workers")
            .groupby("label", sort=True)
            .agg(kind=("kind", "first"), speedup=("speedup", "max"), at=("workers", "last"))
        )
        figures.append(
            Figure(
                anchor=anchor("released-control", machine, interpreter, cores),
                title=f"{title}, {cores} cores",
                svg=LazySvg(threads_speedup_by_workload, labelled, title),
                table=html_table(
                    best.rename(columns={"speedup": "best threads speedup", "at": "max workers"}),
                    index=True,
                ),
                caption="The control holds the GIL: where the releasing workloads rise with "
                "threads and the control stays flat, the GIL is what the difference is.",
            )
        )
    return figures
