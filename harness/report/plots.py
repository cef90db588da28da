"""matplotlib figures for the report, rendered to inline SVG text (no files, no network)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gilbench.analysis.intervals import BEYOND_MARK
from gilbench.analysis.physics import suspect_mask

# One colour per backend, the same in every figure.
BACKEND_COLOURS = {
    "serial": "#555555",
    "threads": "#1f77b4",
    "processes": "#d62728",
    "asyncio": "#2ca02c",
    "interpreters": "#9467bd",
}


def render_svg(fig: Figure, tight: bool = True) -> str:
    """The figure as inline SVG text (closed afterwards), without a date, so reports
    do not differ from run to run.  ``tight=False`` for figures laid out already
    (``tight_layout``, legends inside the figure): it saves a second drawing pass."""
    buffer = io.StringIO()
    # No RDF metadata block: it only adds a date (making reports differ run to run).
    fig.savefig(
        buffer,
        format="svg",
        bbox_inches="tight" if tight else None,
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and DOCTYPE for inlining


def _scaling_axes(points: pd.DataFrame, title: str, xlabel: str) -> tuple[Figure, Axes]:
    """A speedup-against-workers plot with the ideal line and the core count drawn."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    workers = sorted(int(w) for w in points["workers"].unique())
    ax.plot(workers, workers, linestyle="--", color="#999999", linewidth=1,
            label="ideal (= workers)")  # fmt: skip
    cores = int(points["cores"].max())
    ax.axhline(cores, linestyle=":", color="#999999", linewidth=1, label=f"{cores} cores")
    ax.set_xscale("log", base=2)
    ax.set_xticks(workers, [str(w) for w in workers])
    ax.set_xlim(0.8, max(workers) * 1.25)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("speedup over serial")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _interval_bars(ax: Axes, rows: pd.DataFrame, colour: str | None) -> None:
    """Error bars for the rows' 95 % speedup intervals (gilbench.analysis.intervals),
    where they have one; none where too few processes gave none."""
    if "speedup_ci_low" not in rows:
        return
    has = rows[rows["speedup_ci_low"].notna() & rows["speedup_ci_high"].notna()]
    if has.empty:
        return
    below = (has["speedup"] - has["speedup_ci_low"]).clip(lower=0)
    above = (has["speedup_ci_high"] - has["speedup"]).clip(lower=0)
    ax.errorbar(has["workers"], has["speedup"], yerr=[below, above], fmt="none",
                ecolor=colour, elinewidth=1, capsize=3)  # fmt: skip
    # An interval past what the cores allow is drawn whole and marked, never cut.
    if "speedup_ci_beyond_limit" in has:
        for _, row in has[has["speedup_ci_beyond_limit"].fillna(False).astype(bool)].iterrows():
            ax.annotate(BEYOND_MARK, (row["workers"], row["speedup_ci_high"]), color=colour,
                        fontsize=9, ha="center", va="bottom")  # fmt: skip


def speedup_vs_workers(points: pd.DataFrame, title: str) -> str:
    """Speedup against workers, one line per backend, with the ideal and the core count.

    ``points`` holds one workload's rows for one machine, interpreter and core count.
    """
    fig, ax = _scaling_axes(points, title, "workers")
    for label, unsorted in points.groupby("backend_label", sort=True):
        rows = unsorted.sort_values("workers")
        backend = str(rows["backend"].iloc[0])
        colour = BACKEND_COLOURS.get(backend)
        marker = "s" if backend == "serial" else "o"
        ax.plot(rows["workers"], rows["speedup"], marker=marker, color=colour, label=str(label))
        _interval_bars(ax, rows, colour)
    ax.legend(fontsize=8, loc="upper left")
    return render_svg(fig)


def threads_speedup_by_workload(points: pd.DataFrame, title: str) -> str:
    """Threads speedup against workers, one line per workload: the releasing workloads
    beside their GIL-holding control (dashed)."""
    fig, ax = _scaling_axes(points, title, "threads")
    for label, unsorted in points.groupby("label", sort=True):
        rows = unsorted.sort_values("workers")
        control = rows["kind"].iloc[0] != "cpu-released"
        ax.plot(
            rows["workers"],
            rows["speedup"],
            marker="o",
            linestyle="--" if control else "-",
            linewidth=2.2 if control else 1.5,
            label=f"{label} (control, holds the GIL)" if control else str(label),
        )
    ax.legend(fontsize=7, loc="upper left")
    return render_svg(fig)


def op_cost_bars(table: pd.DataFrame, title: str) -> str:
    """Horizontal bars of microseconds per operation: one group per workload, one bar per
    column of ``table`` (serial, threads x N, ...), log scale."""
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(table) * max(1, len(table.columns)) / 2 + 1.2))
    height = 0.8 / max(1, len(table.columns))
    positions = range(len(table))
    for offset, column in enumerate(table.columns):
        ax.barh(
            [p + offset * height for p in positions],
            table[column],
            height=height,
            label=str(column),
        )
    ax.set_yticks([p + height * (len(table.columns) - 1) / 2 for p in positions], table.index)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("microseconds per operation (log scale)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return render_svg(fig)


def scaling_overview(points: pd.DataFrame, title: str) -> str:
    """Three panels for one workload on one machine and interpreter:

    speedup against cores (each backend's best at each core count, ideal = cores; a
    point beyond physics is not a result and is never the best: a core count whose only
    points are suspect is left out of the line), the efficiency heatmap (backend and
    cores by workers), and effective cores against workers at the highest core count.
    """
    fig, (left, middle, right) = plt.subplots(
        1, 3, figsize=(13.0, 3.8), gridspec_kw={"width_ratios": [1, 1.3, 1]}
    )
    cores = sorted(int(k) for k in points["cores"].unique())
    left.plot(cores, cores, linestyle="--", color="#999999", linewidth=1, label="ideal (= cores)")
    for label, rows in points.groupby("backend_label", sort=True):
        trusted = rows[~suspect_mask(rows)]
        best = trusted.groupby("cores")["speedup"].max().reindex(cores)
        backend = str(rows["backend"].iloc[0])
        left.plot(cores, best.to_numpy(), marker="o", color=BACKEND_COLOURS.get(backend),
                  label=str(label))  # fmt: skip
    left.set_xticks(cores, [str(k) for k in cores])
    left.set_xlabel("cores")
    left.set_ylabel("best speedup")
    left.set_ylim(bottom=0)
    left.grid(True, alpha=0.3)
    left.legend(fontsize=7, loc="upper left")
    left.set_title("speedup vs cores", fontsize=9)

    heat = points[points["backend"] != "serial"].assign(
        row=lambda f: f["backend_label"] + " @ " + f["cores"].astype(str) + "c"
    )
    grid = heat.pivot_table(index="row", columns="workers", values="efficiency", aggfunc="first")
    # Rows by backend, then by cores as numbers ("@ 2c" before "@ 16c", not after).
    order = heat.drop_duplicates("row").sort_values(["backend_label", "cores"])["row"]
    grid = grid.reindex([row for row in order if row in grid.index])
    # A cell beyond physics keeps its number (it was measured) but is marked: not a result.
    flagged = (
        heat.assign(flag=suspect_mask(heat).astype(float))
        .pivot_table(index="row", columns="workers", values="flag", aggfunc="max")
        .reindex(index=grid.index, columns=grid.columns)
        .fillna(0.0)
        .to_numpy()
        > 0
    )
    if not grid.empty:
        image = middle.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1,
                              aspect="auto")  # fmt: skip
        middle.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
        middle.set_yticks(range(len(grid.index)), list(grid.index), fontsize=7)
        for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            if not np.isnan(value):
                mark = "*" if flagged[i, j] else ""
                middle.text(j, i, f"{value:.2f}{mark}", ha="center", va="center", fontsize=6)
        fig.colorbar(image, ax=middle, fraction=0.04, pad=0.02)
    middle.set_xlabel("workers")
    suspect_note = " (* beyond physics: suspect)" if flagged.any() else ""
    middle.set_title(f"efficiency = speedup / min(workers, cores){suspect_note}", fontsize=9)

    top = points[points["cores"] == max(cores)]
    for label, unsorted in top.groupby("backend_label", sort=True):
        rows = unsorted.sort_values("workers")
        backend = str(rows["backend"].iloc[0])
        right.plot(rows["workers"], rows["effective_cores"], marker="o",
                   color=BACKEND_COLOURS.get(backend), label=str(label))  # fmt: skip
    right.axhline(max(cores), linestyle=":", color="#999999", linewidth=1)
    right.set_xscale("log", base=2)
    ticks = sorted(int(w) for w in top["workers"].unique())
    right.set_xticks(ticks, [str(w) for w in ticks])
    right.set_ylim(bottom=0, top=max(cores) * 1.15)
    right.set_xlabel("workers")
    right.set_ylabel("effective cores (CPU time / wall time)")
    right.set_title(f"effective cores at {max(cores)} cores", fontsize=9)
    right.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return render_svg(fig, tight=False)


def threads_by_interpreter(points: pd.DataFrame, title: str) -> str:
    """Small multiples, one per workload: threads speedup against workers, one line per
    interpreter, at the highest core count."""
    workloads = sorted(points["workload"].unique())
    columns = min(4, len(workloads))
    rows_n = -(-len(workloads) // columns)
    fig, axes = plt.subplots(rows_n, columns, figsize=(3.3 * columns, 2.8 * rows_n),
                             squeeze=False)  # fmt: skip
    for ax, workload in zip(axes.flat, workloads, strict=False):
        rows = points[points["workload"] == workload]
        for interpreter, unsorted in rows.groupby("interpreter", sort=True):
            line = unsorted.sort_values("workers")
            ax.plot(line["workers"], line["speedup"], marker="o", label=str(interpreter))
        ticks = sorted(int(w) for w in rows["workers"].unique())
        ax.plot(ticks, ticks, linestyle="--", color="#999999", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_ylim(bottom=0)
        ax.set_title(str(workload), fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(workloads) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("threads", fontsize=8)
    fig.supylabel("speedup over serial (same interpreter)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.9, 0.95))
    return render_svg(fig, tight=False)


def overlay_speedups(points: pd.DataFrame, title: str) -> str:
    """One workload on several machines and interpreters: a panel per backend, speedup
    against workers, one line per machine and interpreter (each at its highest core
    count), with the ideal line."""
    rows = points[points["backend"] != "serial"]
    labels = sorted(str(label) for label in rows["backend_label"].unique())
    fig, axes = plt.subplots(1, max(1, len(labels)), figsize=(3.3 * max(1, len(labels)), 3.4),
                             sharey=True, squeeze=False)  # fmt: skip
    ticks = sorted(int(w) for w in rows["workers"].unique()) or [1]
    for ax, label in zip(axes[0], labels, strict=False):
        for (machine, interpreter), unsorted in rows[rows["backend_label"] == label].groupby(
            ["machine", "interpreter"], sort=True
        ):
            line = unsorted[unsorted["cores"] == unsorted["cores"].max()].sort_values("workers")
            cores = int(line["cores"].max())
            ax.plot(line["workers"], line["speedup"], marker="o",
                    label=f"{machine}, {interpreter} ({cores} cores)")  # fmt: skip
        ax.plot(ticks, ticks, linestyle="--", color="#999999", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_ylim(bottom=0)
        ax.set_title(label, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("speedup over serial")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(3, max(1, len(names))), fontsize=7)
    fig.supxlabel("workers", fontsize=8, y=0.16)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return render_svg(fig, tight=False)


# The three parts of the workers' time (gilbench.measure.shares), in stacking order.
SHARE_PARTS = (
    ("share_running", "running", "#2ca02c"),
    ("share_runqueue", "waiting for a CPU", "#ff7f0e"),
    ("share_blocked", "blocked (GIL, locks, I/O)", "#7f7f7f"),
)


def time_shares_bars(points: pd.DataFrame, title: str) -> str:
    """One horizontal bar per backend (its widest point), stacked: the share of its
    workers' time running, waiting for a CPU and blocked.  An unknown run-queue share
    (no schedstat) stacks as 0."""
    labels = [f"{b} x{w}" for b, w in zip(points["backend_label"], points["workers"], strict=True)]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(points) + 1.4))
    left = np.zeros(len(points))
    for column, name, colour in SHARE_PARTS:
        widths = points[column].fillna(0).to_numpy(dtype=float)
        ax.barh(labels, widths, left=left, color=colour, label=name)
        for y, (x, width) in enumerate(zip(left, widths, strict=True)):
            if width >= 0.08:
                ax.text(x + width / 2, y, f"{width:.0%}", ha="center", va="center", fontsize=7,
                        color="white")  # fmt: skip
        left += widths
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of the workers' time in timed batches")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.12), ncol=3, frameon=False)
    return render_svg(fig)


def speedup_vs_task_length(curves: pd.DataFrame, marks: list[tuple[str, float]], title: str) -> str:
    """Speedup at one worker per core against the serial time of one task (log scale),
    one line per backend with its intervals, the break-even line at 1 and each
    backend's break-even with serial (``marks``: backend label, µs) drawn on it."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, unsorted in curves.groupby("backend", sort=True):
        rows = unsorted.sort_values("task_us")
        colour = BACKEND_COLOURS.get(str(label).split("[")[0])
        ax.plot(rows["task_us"], rows["speedup"], marker="o", color=colour, label=str(label))
        has = rows[rows["speedup_ci_low"].notna() & rows["speedup_ci_high"].notna()]
        if not has.empty:
            ax.errorbar(has["task_us"], has["speedup"],
                        yerr=[(has["speedup"] - has["speedup_ci_low"]).clip(lower=0),
                              (has["speedup_ci_high"] - has["speedup"]).clip(lower=0)],
                        fmt="none", ecolor=colour, elinewidth=1, capsize=3)  # fmt: skip
    for label, at in marks:
        colour = BACKEND_COLOURS.get(label.split("[")[0])
        ax.axvline(at, color=colour, linestyle=":", linewidth=1)
    ax.axhline(1.0, linestyle="--", color="#999999", linewidth=1, label="break-even (= serial)")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("task length: serial time of one task (µs, log scale)")
    ax.set_ylabel("speedup over serial, one worker per core")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return render_svg(fig)
