"""The report's mixed family: a responder's latency against the CPU load beside it, and
the switch interval's trade-off between that latency and the CPU threads' throughput.

Every chart comes with one sentence, computed from the numbers, that says what it shows
on the machine that measured it.  Percentiles are drawn with their 95 % intervals as
bands; a p99 that too few requests support (gilbench.analysis.latency_stats) is drawn,
tabled and told as "max of N" (the largest of the N requests), never as a p99.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from markupsafe import Markup
from matplotlib.axes import Axes

from gilbench.analysis.latency_stats import PERCENTILES, required_requests
from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.plots import render_svg
from gilbench.vocabulary import LATENCY_KIND, PARAM_PREFIX

LOAD_RATE = "fact_load_chunks_per_s"
#: The open-loop schedule's offered rate and the responder's utilisation, per point.
REQUEST_RATE = "fact_latency_rate_per_s"
UTILISATION = "fact_latency_utilisation"
#: The tidy column of a switch-interval sweep's parameter: the interval (ms).
SWITCH_WORKLOAD_PARAM = PARAM_PREFIX + "interval_ms"
# One colour per place the load runs, the same in every latency chart.
LOAD_COLOURS = {
    "threads": "#1f77b4",
    "processes": "#d62728",
    "asyncio[inline]": "#2ca02c",
    "asyncio[executor]": "#8c564b",
}
INTERPRETER_STYLES = ("-", "--", ":", "-.")
INTERPRETER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
TABLE_COLUMNS = {
    "interpreter": "interpreter",
    "load_in": "CPU work in",
    "load_workers": "CPU workers",
    "p50_ms": "p50 (ms) [95 % interval]",
    "p90_ms": "p90 (ms) [95 % interval]",
    "p99_ms": "p99 (ms) [95 % interval]",
    "max_ms": "max (ms)",
    "latency_samples": "requests",
    REQUEST_RATE: "requests/s",
    UTILISATION: "responder busy",
    LOAD_RATE: "CPU chunks/s",
}
BAND_ALPHA = 0.15


def _number(value: Any) -> float:
    """``value`` as a float, NaN for anything missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def tail(row: pd.Series) -> tuple[float, str]:
    """A row's p99 in ms and "" where its requests support one, else its maximum and the
    note that says so (``max of 40``)."""
    note = row.get("p99_note", "")
    note = note if isinstance(note, str) else ""
    value = _number(row.get("p99_ms"))
    if math.isnan(value) and note:
        return _number(row.get("max_ms")), note
    return value, ""


def _tails(rows: pd.DataFrame) -> tuple[list[float], str]:
    """The p99 line of ``rows`` (the maximum where a p99 is not supported) and its label."""
    pairs = [tail(row) for _, row in rows.iterrows()]
    notes = sorted({note for _, note in pairs if note})
    if not notes:
        label = "p99"
    elif len(notes) == 1 and all(note for _, note in pairs):
        label = notes[0]
    else:
        label = "p99 (or max where too few requests)"
    return [value for value, _ in pairs], label


def _band(ax: Axes, x: Sequence[float], rows: pd.DataFrame, name: str, colour: str | None) -> None:
    """Shade the 95 % interval of percentile ``name`` (``p50``) where rows have one."""
    low, high = f"{name}_ms_ci_low", f"{name}_ms_ci_high"
    if low in rows and high in rows and rows[low].notna().any():
        ax.fill_between(x, rows[low].astype(float), rows[high].astype(float), color=colour,
                        alpha=BAND_ALPHA, linewidth=0)  # fmt: skip


def _k(rows: pd.DataFrame) -> list[int]:
    """The x values of a latency line: its CPU workers, as plain ints for matplotlib."""
    return [int(k) for k in rows["load_workers"]]


def _colour(label: str) -> str | None:
    return LOAD_COLOURS.get(label) or LOAD_COLOURS.get(label.split("[", 1)[0])


def _styles(interpreters: list[str]) -> dict[str, str]:
    return {
        name: INTERPRETER_STYLES[i % len(INTERPRETER_STYLES)]
        for i, name in enumerate(sorted(interpreters))
    }


def latency_by_interpreter(rows: pd.DataFrame, title: str) -> str:
    """One panel per place the load runs: p99 (solid) and p50 (dotted) latency against
    the number of CPU workers, one colour per interpreter, so builds sit side by side."""
    labels = sorted(str(label) for label in rows["load_in"].unique())
    fig, axes = plt.subplots(1, len(labels), figsize=(3.2 * len(labels), 3.6), sharey=True,
                             squeeze=False)  # fmt: skip
    interpreters = sorted(str(i) for i in rows["interpreter"].unique())
    colours = {name: INTERPRETER_COLOURS[i % len(INTERPRETER_COLOURS)]
               for i, name in enumerate(interpreters)}  # fmt: skip
    ticks = sorted(int(k) for k in rows["load_workers"].unique())
    for ax, label in zip(axes[0], labels, strict=True):
        for interpreter, unsorted in rows[rows["load_in"] == label].groupby("interpreter"):
            line = unsorted.sort_values("load_workers")
            colour = colours[str(interpreter)]
            high, tail_label = _tails(line)
            ax.plot(_k(line), high, marker="o", color=colour,
                    label=f"{tail_label}, {interpreter}")  # fmt: skip
            _band(ax, _k(line), line, "p99", colour)
            ax.plot(_k(line), line["p50_ms"], marker=".", color=colour, linestyle=":",
                    linewidth=1, label=f"p50, {interpreter}")  # fmt: skip
            _band(ax, _k(line), line, "p50", colour)
        ax.set_yscale("log")
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.set_title(f"CPU work in {label}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("latency per request (ms, log scale)")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(4, len(names)), fontsize=7)
    fig.supxlabel("CPU-bound workers beside the responder", fontsize=8, y=0.12)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return render_svg(fig, tight=False)


def latency_vs_load(rows: pd.DataFrame, title: str) -> str:
    """p50 and p99 latency against the number of CPU workers: one line per place the
    load runs (colour) and interpreter (line style), log scale."""
    if rows["interpreter"].nunique() > 1:
        return latency_by_interpreter(rows, title)
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.0), sharey=True)
    styles = _styles(list(rows["interpreter"].unique()))
    several = len(styles) > 1
    for (label, interpreter), unsorted in rows.groupby(["load_in", "interpreter"]):
        line = unsorted.sort_values("load_workers")
        name = f"{label}, {interpreter}" if several else str(label)
        colour = _colour(str(label))
        high, _ = _tails(line)
        for ax, values, band in ((axes[0], list(line["p50_ms"]), "p50"), (axes[1], high, "p99")):
            ax.plot(_k(line), values, marker="o", color=colour,
                    linestyle=styles[str(interpreter)], label=name)  # fmt: skip
            _band(ax, _k(line), line, band, colour)
    ticks = sorted(int(k) for k in rows["load_workers"].unique())
    _, tail_label = _tails(rows)
    tail_title = (
        "p99 latency, 95 % intervals shaded"
        if tail_label == "p99"
        else f"{tail_label} (too few requests for a p99): the largest latency"
    )
    for ax, panel in zip(axes, ("median (p50) latency, 95 % intervals shaded", tail_title),
                         strict=True):  # fmt: skip
        ax.set_yscale("log")
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.set_xlabel("CPU-bound workers beside the responder")
        ax.set_title(panel, fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("latency per request (ms, log scale)")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return render_svg(fig)


def switch_tradeoff(rows: pd.DataFrame, title: str) -> str:
    """Against the switch interval (log): the responder's p50 and p99 latency (left) and
    the CPU threads' throughput (right), one line style per interpreter."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.0))
    styles = _styles(list(rows["interpreter"].unique()))
    for interpreter, unsorted in rows.groupby("interpreter", sort=True):
        line = unsorted.sort_values(SWITCH_WORKLOAD_PARAM)
        style = styles[str(interpreter)]
        x = [float(v) for v in line[SWITCH_WORKLOAD_PARAM]]
        high, label = _tails(line)
        left.plot(x, high, marker="o", color="#d62728", linestyle=style,
                  label=f"{label}, {interpreter}")  # fmt: skip
        _band(left, x, line, "p99", "#d62728")
        left.plot(x, line["p50_ms"], marker="s", color="#1f77b4", linestyle=style,
                  label=f"p50, {interpreter}")  # fmt: skip
        _band(left, x, line, "p50", "#1f77b4")
        if LOAD_RATE in line:
            right.plot(line[SWITCH_WORKLOAD_PARAM], line[LOAD_RATE], marker="o",
                       color="#555555", linestyle=style, label=str(interpreter))  # fmt: skip
    intervals = sorted(float(v) for v in rows[SWITCH_WORKLOAD_PARAM].unique())
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(intervals, [f"{v:g}" for v in intervals])
        ax.set_xlabel("switch interval (ms, sys.setswitchinterval)")
        ax.grid(True, alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("responder latency (ms, log scale)")
    left.set_title("latency of the responder, 95 % intervals shaded", fontsize=9)
    left.legend(fontsize=7)
    right.set_ylim(bottom=0)
    right.set_ylabel("CPU chunks per second, all CPU threads")
    right.set_title("throughput of the CPU threads", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return render_svg(fig, tight=False)


def _ms(value: float) -> str:
    return f"{value:.2g} ms" if value < 1 else f"{value:,.1f} ms"


def _tail_text(row: pd.Series) -> str:
    """A row's p99 for a sentence: ``39.6 ms`` or, unsupported, ``max of 40: 39.6 ms``."""
    value, note = tail(row)
    return f"{note}: {_ms(value)}" if note else _ms(value)


def _interval_text(row: pd.Series, name: str) -> str:
    """`` (95 % interval 35.1-44.0 ms)`` for percentile ``name`` of a row that has one."""
    low, high = _number(row.get(f"{name}_ms_ci_low")), _number(row.get(f"{name}_ms_ci_high"))
    if math.isnan(low) or math.isnan(high):
        return ""
    return f" (95 % interval {_ms(low).removesuffix(' ms')}–{_ms(high)})"


def _at(rows: pd.DataFrame, load_workers: int) -> pd.Series | None:
    match = rows[rows["load_workers"] == load_workers]
    return None if match.empty else match.iloc[0]


def load_sentence(rows: pd.DataFrame) -> str:
    """What a latency-against-load chart shows: the p99 latency with one CPU worker per
    core, against the responder alone, for each place the load runs ("max of N" where
    too few requests support a p99)."""
    cores = int(rows["cores"].max())
    parts, notes = [], set()
    for (label, interpreter), line in rows.groupby(["load_in", "interpreter"], sort=True):
        alone, loaded = _at(line, 0), _at(line, cores)
        if alone is None or loaded is None or not tail(alone)[0] > 0:
            continue
        ratio = tail(loaded)[0] / tail(alone)[0]
        notes |= {note for note in (tail(alone)[1], tail(loaded)[1]) if note}
        who = f"{label} ({interpreter})" if rows["interpreter"].nunique() > 1 else str(label)
        parts.append(f"{who} {_tail_text(loaded)}, {ratio:,.1f}x{_interval_text(loaded, 'p99')}")
    if not parts:
        return "The sweep lacks the points (0 and one worker per core) this summary needs."
    counts = " or ".join(sorted({note.removeprefix("max of ") for note in notes}))
    caveat = (
        f" (where {counts} requests are too few for a p99, which needs "
        f'{required_requests(99):,}: their largest, as "max of {counts}")'
        if notes
        else ""
    )
    return (
        f"p99 latency with {cores} CPU-bound workers beside the responder{caveat}, and how "
        f"many times its latency alone: " + "; ".join(parts) + "."
    )


def switch_sentence(rows: pd.DataFrame) -> str:
    """What a switch-interval chart shows: latency and throughput at the shortest and
    the longest interval ("max of N" where too few requests support a p99)."""
    parts = []
    for interpreter, line in rows.groupby("interpreter", sort=True):
        ordered = line.sort_values(SWITCH_WORKLOAD_PARAM)
        low, high = ordered.iloc[0], ordered.iloc[-1]
        text = (
            f"{interpreter}: from {low[SWITCH_WORKLOAD_PARAM]:g} ms to "
            f"{high[SWITCH_WORKLOAD_PARAM]:g} ms, p99 latency went from {_tail_text(low)} "
            f"to {_tail_text(high)}"
        )
        rate_low, rate_high = low.get(LOAD_RATE, math.nan), high.get(LOAD_RATE, math.nan)
        if pd.notna(rate_low) and pd.notna(rate_high) and rate_low > 0:
            text += (
                f" and the CPU threads' throughput from {rate_low:,.0f} to "
                f"{rate_high:,.0f} chunks/s ({rate_high / rate_low - 1:+.0%})"
            )
        parts.append(text)
    return "; ".join(parts) + "."


def closed_loop_note(rows: pd.DataFrame) -> str:
    """A sentence for rows measured closed loop (files older than schema 3, which record
    no request rate): there a stall delays the requests behind it unseen."""
    if REQUEST_RATE in rows and rows[REQUEST_RATE].notna().all():
        return ""
    return (
        " Some of these points were measured closed loop (by a gilbench before schema 3): "
        "each request was sent when the previous one answered, so a stall shows in one "
        "request only and these percentiles understate the waits."
    )


def _cell(row: pd.Series, name: str) -> str:
    """A table cell for percentile ``name``: ``26.1 [22.0, 30.5]`` (its 95 % interval), a
    value with too few requests for an interval (fewer than 3 blocks) saying so, or
    ``max of 40: 39.6`` where the requests do not support the percentile."""
    note = row.get(f"{name}_note", "")
    if isinstance(note, str) and note:
        return f"{note}: {_number(row.get('max_ms')):,.3g}"
    value = _number(row.get(f"{name}_ms"))
    if math.isnan(value):
        return "–"
    low, high = _number(row.get(f"{name}_ms_ci_low")), _number(row.get(f"{name}_ms_ci_high"))
    interval = " [too few requests for an interval]" if math.isnan(low) else (
        f" [{low:,.3g}, {high:,.3g}]")  # fmt: skip
    return f"{value:,.3g}{interval}"


def _table(rows: pd.DataFrame, extra: list[str] | None = None) -> Markup:
    columns = [c for c in (extra or []) + list(TABLE_COLUMNS) if c in rows]
    view = rows[columns].copy()
    for name in PERCENTILES:
        if f"{name}_ms" in view:
            view[f"{name}_ms"] = [_cell(row, name) for _, row in rows.iterrows()]
    view = view.rename(columns={**TABLE_COLUMNS, SWITCH_WORKLOAD_PARAM: "interval (ms)"})
    return html_table(view)


def _switch_rows(frame: pd.DataFrame) -> pd.Series:
    """True for the rows of a switch-interval sweep (they have an ``interval_ms``)."""
    if SWITCH_WORKLOAD_PARAM not in frame:
        return pd.Series(False, index=frame.index)
    return frame[SWITCH_WORKLOAD_PARAM].notna()


def mixed_figures(frame: pd.DataFrame) -> list[Figure]:
    """The mixed family's figures: per machine, workload, params and core count, every
    interpreter on one chart (so a free-threaded build sits beside the default one)."""
    figures = []
    frame = frame[frame["kind"] == LATENCY_KIND]
    switch = _switch_rows(frame)
    for (machine, workload, params, cores), rows in frame[~switch].groupby(
        ["machine", "workload", "params", "cores"], sort=True
    ):
        ordered = rows.sort_values(["interpreter", "load_in", "load_workers"])
        title = f"{workload}({params}) on {machine}, {cores} cores: latency vs CPU load"
        figures.append(
            Figure(
                anchor=anchor(workload, machine, params, cores, "latency"),
                title=title,
                svg=LazySvg(latency_vs_load, ordered, title),
                table=_table(ordered),
                caption=load_sentence(ordered) + closed_loop_note(ordered),
                wide=True,
            )
        )
    # Drawn once for all intervals.
    for (machine, workload, cores), rows in frame[switch].groupby(
        ["machine", "workload", "cores"], sort=True
    ):
        load_workers = int(rows["load_workers"].max())
        title = (
            f"{workload} on {machine}, {cores} cores, {load_workers} CPU threads: "
            "latency and throughput vs switch interval"
        )
        ordered = rows.sort_values(["interpreter", SWITCH_WORKLOAD_PARAM])
        figures.append(
            Figure(
                anchor=anchor(workload, machine, cores, "switch"),
                title=title,
                svg=LazySvg(switch_tradeoff, ordered, title),
                table=_table(ordered, [SWITCH_WORKLOAD_PARAM]),
                caption=switch_sentence(ordered) + closed_loop_note(ordered),
                wide=True,
            )
        )
    return figures
