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

from gilbench.analysis.intervals import beyond_mark, interval_text
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
        "best speedup [95 %]",
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
            interval_text(
                best["speedup"], best.get("speedup_ci_low"), best.get("speedup_ci_high"), unit="x"
            )
            + beyond_mark(best),  # 1.71x [1.62, 1.80], and a mark where past the limit
            str(best["workers"]),
            _fmt(best["efficiency"]),
            _fmt(best["effective_cores"]),
        )
    return table


def _varying_params(rows: pd.DataFrame) -> dict[str, str]:
    """Each params text of one workload's rows shortened to the parameters that differ
    between them (``interval_ms=0.1``), or the whole text when it never varies."""
    texts = sorted({str(t) for t in rows["params"]})
    if len(texts) < 2:
        return {t: t for t in texts}
    parsed = {t: dict(item.partition("=")[::2] for item in t.split(",") if item) for t in texts}
    keys = {k for items in parsed.values() for k in items}
    varying = sorted(k for k in keys if len({items.get(k) for items in parsed.values()}) > 1)
    return {t: ",".join(f"{k}={parsed[t].get(k, '')}" for k in varying) for t in texts}


def _latency_cell(row: pd.Series) -> str:
    """``p50 / p99`` in ms, the p99 as ``max 39.6`` where too few requests support one."""
    note = row.get("p99_note", "")
    p99 = row.get("p99_ms", math.nan)
    if isinstance(note, str) and note and pd.isna(p99):
        high = f"max {row.get('max_ms', math.nan):.2f}"
    else:
        high = f"{p99:.2f}"
    return f"{row['p50_ms']:.2f} / {high}"


def latency_table(frame: pd.DataFrame) -> Table | None:
    """Per mixed workload and place of the CPU load: p50 and p99 latency by CPU workers
    ("max" where a point's requests are too few for a p99)."""
    rows = frame[frame["kind"] == LATENCY_KIND] if not frame.empty else frame
    if rows.empty:
        return None
    samples = sorted({int(n) for n in rows.get("latency_samples", pd.Series()).dropna()})
    title = "gilbench latency: p50 / p99 ms of the responder beside K CPU workers"
    if samples:
        spread = str(samples[0]) if len(samples) == 1 else f"{samples[0]}-{samples[-1]}"
        title += f", {spread} requests each"
    if "p99_note" in rows and (rows["p99_note"].fillna("") != "").any():
        title += " (max: the largest request, where too few for a p99)"
    table = Table(title=title)
    counts = sorted(int(k) for k in rows["load_workers"].unique())
    for column in ("workload", "interpreter", "CPU work in", *(f"K={k}" for k in counts)):
        table.add_column(column, justify="right" if column.startswith("K=") else "left")
    labels = {
        (str(workload), text): short
        for workload, group in rows.groupby("workload", sort=True)
        for text, short in _varying_params(group).items()
    }
    keys = ["workload", "params", "interpreter", "load_in"]
    for (workload, params, interpreter, load_in), group in rows.groupby(keys, sort=True):
        by_k = {int(row["load_workers"]): _latency_cell(row) for _, row in group.iterrows()}
        cells = [by_k.get(k, "") for k in counts]
        table.add_row(
            escape(f"{workload}({labels[str(workload), str(params)]})"),
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
            escape(
                f"{row.best_backend} "
                f"{interval_text(row.best_speedup, row.best_ci_low, row.best_ci_high, unit='x')}"
                f" @ {row.best_workers}"
            ),
            f"[{style}]{row.threads}[/]" if style else row.threads,
            escape(row.evidence),
        )
    return table


def _mib(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f} MiB"


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f} ms"


def _shortened(text: str, frame: pd.DataFrame) -> str:
    """``text`` without the process pools' start method where the frame has only one."""
    column = frame.loc[frame["backend"] == "processes", "start_method"].fillna("")
    methods = [m for m in column.unique() if m]
    if len(methods) == 1:
        return text.replace(f"processes[{methods[0]}]", "processes")
    return text


def decision_lines(frame: pd.DataFrame, width: int = 120) -> list[str]:
    """The answer first, two lines per workload (rule: gilbench.analysis.decision): what
    to use on this machine with its speedup and costs, then why the others lose (at most
    ``width`` characters; the report has every word)."""
    from gilbench.analysis.decision import decisions

    found = decisions(frame)
    if not found:
        return []
    interpreters = frame["interpreter"].nunique()
    params = frame.groupby("workload")["params"].nunique()
    rows = []
    for d in found:
        name = d.workload + (f"({d.params})" if params.get(d.workload, 1) > 1 else "")
        name += f" {d.interpreter}" if interpreters > 1 else ""
        plain = d.choice == "serial" or d.choice.startswith("unclear")
        use = d.choice if plain else f"{d.choice} ×{d.workers}"
        use += " (cheapest of equals)" if d.note == "the cheapest of equals" else ""
        costs = ", ".join(
            text for text, value in (
                (f"{d.memory_per_worker_mib:.1f} MiB a worker", d.memory_per_worker_mib),
                (f"start-up {d.startup_ms:.1f} ms", d.startup_ms),
            ) if not math.isnan(value)
        )  # fmt: skip
        others = "; ".join(filter(None, (d.alternatives, d.free_threaded)))
        speed = "" if d.choice == "serial" else interval_text(
            d.speedup, d.ci_low, d.ci_high, unit="x")  # fmt: skip
        rows.append((name, _shortened(use, frame), speed, costs, _shortened(others, frame)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["decision: what to use for each workload here (the report: how it is chosen)"]
    for name, use, speed, costs, others in rows:
        head = f"  {name:<{widths[0]}}  {use:<{widths[1]}}  {speed:<{widths[2]}}  {costs}"
        lines.append(head.rstrip())
        if others:
            tail = f"  {'':<{widths[0]}}  not: {others}"
            lines.append(tail if len(tail) <= width else tail[: width - 1] + "…")
    return lines + task_size_lines(frame, width)


def task_size_lines(frame: pd.DataFrame, width: int = 120) -> list[str]:
    """One line per backend of a workload measured at several task lengths: where it
    breaks even with serial and with threads (gilbench.analysis.crossover)."""
    from gilbench.analysis.crossover import crossovers
    from gilbench.report.task_size import break_even_lines

    lines = [f"  task size: {line}" for line in break_even_lines(crossovers(frame))]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


def latency_lines(frame: pd.DataFrame) -> list[str]:
    """The latency headline, one line per responder: its p90 (else p50) alone and beside
    the most CPU workers measured, in each place the load ran."""
    rows = frame[frame["kind"] == LATENCY_KIND] if not frame.empty else frame
    lines = []
    for (workload, params, interpreter), group in rows.groupby(
        ["workload", "params", "interpreter"], sort=True
    ):
        varying = rows.loc[rows["workload"] == workload, "params"].nunique() > 1
        short = _varying_params(rows[rows["workload"] == workload]).get(str(params), "")
        name = f"{workload}({short})" if varying else str(workload)
        if rows["interpreter"].nunique() > 1:
            name += f" {interpreter}"
        loaded = group[group["load_workers"] > 0]
        if loaded.empty:
            continue
        k = int(loaded["load_workers"].max())
        _, which = _percentile(loaded.iloc[0])
        alone = group[group["load_workers"] == 0]
        head = f"{name}: {which}"
        if not alone.empty:
            head += f" {_percentile(alone.iloc[0])[0]:,.2f} ms alone;"
        parts = [
            f"{place} {_percentile(placed[placed['load_workers'] == k].iloc[0])[0]:,.1f}"
            for place, placed in loaded.groupby("load_in", sort=True)
            if (placed["load_workers"] == k).any()
        ]
        lines.append(f"{head} with {k} CPU workers in " + ", ".join(parts) + " ms")
    return [_shortened(line, frame) for line in lines]


def _percentile(row: pd.Series) -> tuple[float, str]:
    for column, name in (("p90_ms", "p90"), ("p50_ms", "p50")):
        value = row.get(column)
        if value is not None and pd.notna(value):
            return float(value), name
    return float(row["median_s"]) * 1e3, "median"


#: The longest a folded warning line gets (the terminal is 120 columns).
WARNING_WIDTH = 110


def fold_warning(text: str) -> str:
    """A warning's first clause, at most :data:`WARNING_WIDTH` characters: the count and
    what it is; the examples and the explanation are in the report (and --verbose)."""
    head = text.split(" (", 1)[0].split("; ", 1)[0]
    if len(head) > WARNING_WIDTH:
        head = head.split(": ", 1)[0]
    if len(head) > WARNING_WIDTH:
        head = head[: WARNING_WIDTH - 1].rsplit(" ", 1)[0] + "…"
    return head
