"""The report's sections: one per workload family, each with the presentation that suits
it (speedup curves, per-operation costs, facts), built from the tidy DataFrame."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from gilbench.report.figure_pool import LazySvg
from gilbench.report.figures import Figure, anchor, html_table
from gilbench.report.latency import mixed_figures
from gilbench.report.plots import (
    op_cost_bars,
    overlay_speedups,
    scaling_overview,
    speedup_vs_workers,
    threads_by_interpreter,
    threads_speedup_by_workload,
)
from gilbench.vocabulary import backend_label

TABLE_COLUMNS = {
    "backend_label": "backend",
    "workers": "workers",
    "median_ms": "median (ms)",
    "stdev_ms": "stdev (ms)",
    "n_values": "values",
    "throughput": "tasks/s",
    "speedup": "speedup",
    "speedup_spread": "± over rounds",
    "efficiency": "efficiency",
    "effective_cores": "effective cores",
}

# family -> (title, what the section shows); families not listed get a plain title.
FAMILIES: dict[str, tuple[str, str]] = {
    "cpu": (
        "CPU-bound pure Python",
        "Pure-Python work holds the GIL: under the GIL, threads cannot exceed one core's "
        "worth of work, processes can use every core.",
    ),
    "released": (
        "C code that releases the GIL",
        "hashlib, zlib, bz2 and lzma release the GIL inside their C loops, so threads scale "
        "with cores. The control hashes the same bytes in 1 KiB pieces, below CPython's "
        "2048-byte threshold, and holds the GIL.",
    ),
    "io": (
        "I/O-bound",
        "Waiting releases the GIL: threads and asyncio overlap the waits, far beyond the "
        "number of cores.",
    ),
    "mixed": (
        "Latency under CPU load: the convoy effect and the switch interval",
        "A responder (an echo round trip over loopback, an Event handed to another thread) "
        "is timed request by request while K CPU-bound workers run beside it. A thread "
        "woken by I/O must win the GIL back; with CPU threads holding it, that can take a "
        "whole switch interval per wake-up (CPython bpo-7946). Latency is shown as a "
        "distribution (p50, p90, p99, max over every request), on a log scale. The "
        "switch-interval sweep shows what sys.setswitchinterval trades: a shorter interval "
        "answers sooner, a longer one leaves the CPU threads more of the GIL.",
    ),
    "sync": (
        "Synchronisation primitives: cost per operation",
        "Microseconds per operation (median batch time / operations). Under serial a "
        "primitive is uncontended; under threads with N workers, N threads contend for it.",
    ),
    "startup": (
        "Start-up costs",
        "What a backend pays once, before any batch: creating a thread pool, a process pool "
        "per start method, a subinterpreter (µs per creation, pool used once and shut down).",
    ),
    "probe": (
        "Probes: correctness facts",
        "Counts, not speeds: what the lesson's examples do on this interpreter.",
    ),
}
FAMILY_ORDER = list(FAMILIES)


@dataclass(frozen=True)
class WorkloadSection:
    """One workload's figures."""

    anchor: str
    workload: str
    kind: str
    description: str
    figures: list[Figure]


@dataclass(frozen=True)
class FamilySection:
    """One family: an introduction, family-wide figures, then its workloads."""

    anchor: str
    family: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    workloads: list[WorkloadSection] = field(default_factory=list)


def backend_labels(frame: pd.DataFrame) -> pd.Series:
    """``processes[forkserver]`` for variants, the backend name otherwise."""
    labels = [
        backend_label(b, m) for b, m in zip(frame["backend"], frame["start_method"], strict=True)
    ]
    return pd.Series(labels, index=frame.index)


def spread_text(spreads: pd.Series) -> pd.Series:
    """Speedup spreads over rounds as "±6.1%" (a dash where there is none: serial points,
    a single round)."""
    return spreads.map(lambda v: f"±{v:.1%}" if pd.notna(v) and v > 0 else "–")


def _numbers_table(rows: pd.DataFrame) -> Markup:
    view = rows.assign(median_ms=rows["median_s"] * 1e3, stdev_ms=rows["stdev_s"] * 1e3,
                       speedup_spread=spread_text(rows["speedup_spread"]))  # fmt: skip
    return html_table(view[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS))


def _descriptions(frame: pd.DataFrame) -> dict[str, str]:
    from gilbench.benchmarks import UnknownWorkloadError, get_workload

    out = {}
    for name in frame["workload"].unique():
        try:
            out[name] = get_workload(name).description
        except UnknownWorkloadError:
            out[name] = "(not a workload of this gilbench version)"
    return out


def _context_groups(rows: pd.DataFrame) -> list[tuple[tuple[str, str, str, int], pd.DataFrame]]:
    keys = ["machine", "interpreter", "params", "cores"]
    out = []
    for key, group in rows.groupby(keys, sort=True):
        machine, interpreter, params, cores = key
        out.append(((str(machine), str(interpreter), str(params), int(str(cores))), group))
    return out


def _best_by_cores(rows: pd.DataFrame) -> Markup:
    best = rows.loc[rows.groupby(["backend_label", "cores"])["speedup"].idxmax().dropna()]
    view = best[["backend_label", "cores", "workers", "speedup", "speedup_spread",
                 "efficiency", "effective_cores", "karp_flatt"]]  # fmt: skip
    view = view.assign(speedup_spread=spread_text(view["speedup_spread"]))
    return html_table(
        view.sort_values(["backend_label", "cores"]).rename(
            columns={
                "backend_label": "backend",
                "workers": "at workers",
                "speedup": "best speedup",
                "speedup_spread": "± over rounds",
                "effective_cores": "effective cores",
                "karp_flatt": "serial fraction (Karp-Flatt)",
            }
        )
    )


OVERLAY_COLUMNS = {
    "backend_label": "backend",
    "workers": "at workers",
    "speedup": "best speedup",
    "effective_cores": "effective cores",
}


OVERLAY_COLUMNS = {
    "backend_label": "backend",
    "workers": "at workers",
    "speedup": "best speedup",
    "effective_cores": "effective cores",
}


def several_contexts(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds more than one machine and interpreter pair."""
    return len(frame[["machine", "interpreter"]].drop_duplicates()) > 1


def _overlay_figures(workload: str, rows: pd.DataFrame) -> list[Figure]:
    """Several machines or interpreters: one overlay per params, and the best points."""
    figures = []
    for params, group in rows.groupby("params", sort=True):
        title = f"{workload}({params}): every machine and interpreter"
        top = group[group["cores"] == group.groupby("machine")["cores"].transform("max")]
        top = top[top["backend"] != "serial"]
        best = top.loc[top.groupby(["machine", "interpreter", "backend_label"])["speedup"]
                       .idxmax().dropna()]  # fmt: skip
        view = best[["machine", "interpreter", "backend_label", "cores", "workers", "speedup",
                     "efficiency", "effective_cores"]]  # fmt: skip
        figures.append(
            Figure(
                anchor=anchor(workload, params, "overlay"),
                title=title,
                svg=LazySvg(overlay_speedups, group, title),
                table=html_table(view.rename(columns=OVERLAY_COLUMNS)),
                caption="Each machine at its highest core count. A report over one machine "
                "and interpreter (gilbench report results/<machine>) has every core count.",
                wide=True,
            )
        )
    return figures


def _context_figures(workload: object, rows: pd.DataFrame) -> list[Figure]:
    """One machine and interpreter: a scaling overview per params, then speedup against
    workers with the numbers per core count."""
    figures = []
    for (machine, interpreter, params), group in rows.groupby(
        ["machine", "interpreter", "params"], sort=True
    ):
        title = f"{workload}({params}) on {machine}, {interpreter}: scaling overview"
        figures.append(
            Figure(
                anchor=anchor(workload, machine, interpreter, params, "overview"),
                title=title,
                svg=LazySvg(scaling_overview, group, title),
                table=_best_by_cores(group),
                wide=True,
            )
        )
    for (machine, interpreter, params, cores), unsorted in _context_groups(rows):
        title = f"{workload}({params}) on {machine}, {interpreter}, {cores} cores"
        group = unsorted.sort_values(["backend_label", "workers"])
        figures.append(
            Figure(
                anchor=anchor(workload, machine, interpreter, params, cores),
                title=title,
                svg=LazySvg(speedup_vs_workers, group, title),
                table=_numbers_table(group),
            )
        )
    return figures


def speedup_workloads(frame: pd.DataFrame, descriptions: dict[str, str]) -> list[WorkloadSection]:
    """Per workload: a scaling overview across core counts, then speedup against workers
    with the numbers, per machine, interpreter, params and core count.  Over several
    machines or interpreters, one overlay figure per workload instead (one line each)."""
    sections = []
    several = several_contexts(frame)
    for workload, rows in frame.groupby("workload", sort=True):
        figures = (
            _overlay_figures(str(workload), rows) if several else _context_figures(workload, rows)
        )
        sections.append(
            WorkloadSection(
                anchor=anchor(workload),
                workload=str(workload),
                kind=str(rows["kind"].iloc[0]),
                description=descriptions[str(workload)],
                figures=figures,
            )
        )
    return sections


def released_control_figures(frame: pd.DataFrame) -> list[Figure]:
    """Threads speedup of every releasing workload beside the GIL-holding control."""
    threads = frame[frame["backend"].isin(["threads"])]
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


def sync_figures(frame: pd.DataFrame, family: str = "sync", bars: bool = True) -> list[Figure]:
    """Microseconds per operation, uncontended (serial) and contended (threads x N); the
    bars are left out (``bars=False``) where many machines and interpreters make them
    many figures that the tables say as well."""
    figures = []
    for (machine, interpreter, cores), rows in frame.groupby(
        ["machine", "interpreter", "cores"], sort=True
    ):
        column = rows["backend"].where(
            rows["backend"] == "serial", rows["backend"] + " x" + rows["workers"].astype(str)
        )
        table = rows.assign(column=column).pivot_table(
            index="workload", columns="column", values="op_cost_us", aggfunc="first", sort=False
        )
        ordered = sorted(table.columns, key=lambda c: (c != "serial", len(c), c))
        table = table[ordered].sort_index()
        title = f"{family}: cost per operation, {machine}, {interpreter}, {cores} cores"
        shown = table.copy()
        if "fact_timer_late_ms" in rows:
            late = rows[rows["workload"] == "sync.timer"]
            if not late.empty:
                shown["timer late (ms)"] = pd.Series(
                    {"sync.timer": float(late["fact_timer_late_ms"].mean())}
                )
        figures.append(
            Figure(
                anchor=anchor(family, machine, interpreter, cores),
                title=title,
                svg=LazySvg(op_cost_bars, table.drop(index=["sync.timer"], errors="ignore"), title)
                if bars
                else Markup(""),
                table=html_table(shown.rename_axis(index=None, columns=None), index=True),
                wide=True,
                caption="µs per operation."
                + (
                    " sync.timer's operation includes its requested delay; its lateness is "
                    "the last column."
                    if family == "sync"
                    else ""
                ),
            )
        )
    return figures


def _param(params: str, key: str) -> float:
    for item in params.split(","):
        name, _, value = item.partition("=")
        if name == key:
            return float(value)
    return float("nan")


def _counter_finding(row: pd.Series) -> str:
    total = int(_param(row["params"], "threads") * _param(row["params"], "n"))
    lost = row.get("fact_lost_updates", float("nan"))
    if pd.isna(lost):
        return "no facts recorded"
    if lost == 0:
        return (
            f"lost none of {total:,} updates per task: on this interpreter this form "
            "did not lose updates in this run"
        )
    worst = row.get("fact_lost_updates_worst", lost)
    return f"lost {lost:,.0f} of {total:,} updates per task on average (worst {worst:,.0f})"


FINDINGS: dict[str, Callable[[pd.Series], str]] = {
    "probe.counter_plain": _counter_finding,
    "probe.counter_yield": _counter_finding,
    "probe.counter_locked": _counter_finding,
    "probe.deadlock": lambda r: (
        f"deadlock detected in {r.get('fact_deadlocks_detected', 0):.0%} of tasks; "
        "acquire(timeout=...) let both threads give up and return"
    ),
    "probe.daemon_join": lambda r: (
        "daemon thread abandoned at join(timeout): "
        f"{r.get('fact_daemon_abandoned_at_join_timeout', 0):.0%}; "
        f"non-daemon thread waited for by join(): {r.get('fact_non_daemon_waited_for', 0):.0%}"
    ),
    "probe.logging": lambda r: (
        f"{r.get('fact_records_received', 0):,.0f} records received, "
        f"{r.get('fact_records_missing', 0):,.0f} missing, "
        f"{r.get('fact_records_duplicated', 0):,.0f} duplicated"
    ),
}


def probe_facts(frame: pd.DataFrame) -> Markup:
    """The facts table: one row per probe, machine and interpreter, with a plain finding."""
    rows = []
    for _, series in frame.sort_values(["workload", "machine", "interpreter"]).iterrows():
        finding_of = FINDINGS.get(str(series["workload"]))
        finding = finding_of(series) if finding_of else ""
        rows.append(
            {
                "probe": series["workload"],
                "params": series["params"],
                "machine": series["machine"],
                "interpreter": series["interpreter"],
                "finding": finding,
            }
        )
    return html_table(pd.DataFrame(rows), classes="numbers facts")


def build_families(frame: pd.DataFrame) -> list[FamilySection]:
    """Every family present in ``frame``, in the report's order."""
    frame = frame.assign(
        backend_label=backend_labels(frame), family=frame["workload"].str.split(".").str[0]
    )
    descriptions = _descriptions(frame)
    several = several_contexts(frame)
    present = list(frame["family"].unique())
    order = [f for f in FAMILY_ORDER if f in present] + sorted(
        f for f in present if f not in FAMILY_ORDER
    )
    sections = []
    comparison = interpreter_family(frame)
    if comparison is not None:
        sections.append(comparison)
    for family in order:
        rows = frame[frame["family"] == family]
        title, intro = FAMILIES.get(family, (family, ""))
        section = FamilySection(
            anchor=anchor("family", family), family=family, title=title, intro=intro
        )
        if family == "mixed":
            section.figures.extend(mixed_figures(rows))
        elif family in ("sync", "startup"):
            section.figures.extend(sync_figures(rows, family, bars=not several))
        elif family == "probe":
            section.figures.append(
                Figure(
                    anchor=anchor("probe-facts"),
                    title="facts",
                    svg=Markup(""),
                    table=probe_facts(rows),
                )
            )
        else:
            if family == "released" and not several:
                # Over several machines or interpreters the overlays show the control.
                section.figures.extend(released_control_figures(rows))
            section.workloads.extend(speedup_workloads(rows, descriptions))
        sections.append(section)
    return sections


def _default_partner(tag: str) -> str:
    """``cpython3.14t`` and ``cpython3.14t-gil`` compare with ``cpython3.14``."""
    return re.sub(r"(?<=\d)t(-gil)?$", "", tag)


def free_threading_cost(frame: pd.DataFrame) -> pd.DataFrame:
    """Serial (single-thread) time of each free-threaded interpreter over its default build,
    per machine and workload: the price of free-threading when nothing runs in parallel."""
    serial = frame[(frame["backend"] == "serial")]
    serial = serial[serial["cores"] == serial.groupby("machine")["cores"].transform("max")]
    out = []
    for (machine, workload, params), rows in serial.groupby(["machine", "workload", "params"]):
        by_tag = dict(zip(rows["interpreter"], rows["median_s"], strict=False))
        for tag, median in sorted(by_tag.items()):
            partner = _default_partner(tag)
            if partner != tag and partner in by_tag:
                out.append({
                    "machine": machine, "workload": f"{workload}({params})", "interpreter": tag,
                    "default build": partner, "serial ms": median * 1e3,
                    "default serial ms": by_tag[partner] * 1e3,
                    "ratio (free-threaded / default)": median / by_tag[partner],
                })  # fmt: skip
    return pd.DataFrame(out)


def interpreter_family(frame: pd.DataFrame) -> FamilySection | None:
    """The interpreter comparison, when results from more than one interpreter are loaded."""
    if frame["interpreter"].nunique() < 2:
        return None
    section = FamilySection(
        anchor="interpreters",
        family="interpreters",
        title="Interpreters: default, free-threaded with the GIL off, and with it on",
        intro="The same workloads under each interpreter. Free-threaded builds pay a "
        "single-thread cost and, with the GIL off, let threads run Python in parallel. "
        "Verdicts per interpreter are in the verdict table; lost updates per interpreter "
        "in the probes' facts.",
    )
    cost = free_threading_cost(frame)
    if not cost.empty:
        section.figures.append(Figure(
            anchor="free-threading-cost", title="single-thread cost of free-threading",
            svg=Markup(""), table=html_table(cost),
            caption="Serial time on the free-threaded build over the default build of the "
            "same version: above 1 is the price paid even without threads.",
        ))  # fmt: skip
    if frame["machine"].nunique() > 1:
        return section  # over several machines, each workload's overlay shows this
    threads = frame[(frame["backend"].isin(["threads", "serial"]))
                    & frame["kind"].isin(["cpu", "cpu-released", "io"])]  # fmt: skip
    for machine, rows in threads.groupby("machine", sort=True):
        top = rows[rows["cores"] == rows["cores"].max()]
        title = f"threads scaling per interpreter on {machine}, {int(top['cores'].max())} cores"
        section.figures.append(Figure(
            anchor=anchor("threads-by-interpreter", machine), title=title,
            svg=LazySvg(threads_by_interpreter, top, title), table=Markup(""), wide=True,
        ))  # fmt: skip
    return section
