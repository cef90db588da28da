"""The HTML report: one self-contained page (inline SVG, inline CSS, no network).

Every string that comes from a result file reaches the page through jinja2's
autoescaping or pandas' escaping, never raw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from harness import __version__
from harness.plots import speedup_vs_workers
from harness.store import LoadReport

TABLE_COLUMNS = {
    "backend_label": "backend",
    "workers": "workers",
    "median_ms": "median (ms)",
    "stdev_ms": "stdev (ms)",
    "n_values": "values",
    "throughput": "tasks/s",
    "speedup": "speedup",
    "efficiency": "efficiency",
    "effective_cores": "effective cores",
}


@dataclass(frozen=True)
class Figure:
    """One plot with its table, for one workload on one machine, interpreter and core count."""

    anchor: str
    title: str
    svg: Markup
    table: Markup


@dataclass(frozen=True)
class WorkloadSection:
    """Everything the report shows about one workload."""

    anchor: str
    workload: str
    kind: str
    description: str
    figures: list[Figure]


def backend_labels(frame: pd.DataFrame) -> pd.Series:
    """``processes[forkserver]`` for variants, the backend name otherwise."""
    method = frame["start_method"].fillna("")
    return frame["backend"].where(method == "", frame["backend"] + "[" + method + "]")


def _anchor(*parts: object) -> str:
    text = "-".join(str(p) for p in parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


def _table(rows: pd.DataFrame) -> Markup:
    view = rows.assign(
        median_ms=rows["median_s"] * 1e3,
        stdev_ms=rows["stdev_s"] * 1e3,
    )[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    html = view.to_html(
        index=False,
        escape=True,
        border=0,
        classes="numbers",
        float_format=lambda v: f"{v:,.3f}",
        na_rep="–",
    )
    return Markup(html)


def _descriptions(frame: pd.DataFrame) -> dict[str, str]:
    from benchmarks import UnknownWorkloadError, get_workload

    out = {}
    for name in frame["workload"].unique():
        try:
            out[name] = get_workload(name).description
        except UnknownWorkloadError:
            out[name] = "(not a workload of this gilbench version)"
    return out


def build_sections(frame: pd.DataFrame) -> list[WorkloadSection]:
    """Per workload: a speedup plot and a table per machine, interpreter, params and cores."""
    frame = frame.assign(backend_label=backend_labels(frame))
    descriptions = _descriptions(frame)
    sections = []
    for workload, rows in frame.groupby("workload", sort=True):
        figures = []
        keys = ["machine", "interpreter", "params", "cores"]
        for (machine, interpreter, params, cores), unsorted in rows.groupby(keys, sort=True):
            title = f"{workload}({params}) on {machine}, {interpreter}, {cores} cores"
            group = unsorted.sort_values(["backend_label", "workers"])
            figures.append(
                Figure(
                    anchor=_anchor(workload, machine, interpreter, params, cores),
                    title=title,
                    svg=Markup(speedup_vs_workers(group, title)),
                    table=_table(group),
                )
            )
        sections.append(
            WorkloadSection(
                anchor=_anchor(workload),
                workload=str(workload),
                kind=str(rows["kind"].iloc[0]),
                description=descriptions[str(workload)],
                figures=figures,
            )
        )
    return sections


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("harness", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(frame: pd.DataFrame, loaded: LoadReport, out_dir: Path, title: str) -> Path:
    """Write ``out_dir/index.html`` and ``out_dir/results.csv``; return the HTML path."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / "results.csv", index=False)
    template = _environment().get_template("report.html.j2")
    html = template.render(
        title=title,
        version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machines=sorted(frame["machine"].unique()) if not frame.empty else [],
        interpreters=sorted(frame["interpreter"].unique()) if not frame.empty else [],
        runs=sorted(frame["run_id"].unique()) if not frame.empty else [],
        n_points=len(frame),
        skipped=[(str(path), reason) for path, reason in loaded.skipped],
        sections=build_sections(frame) if not frame.empty else [],
        build_seconds=lambda: f"{time.perf_counter() - started:.1f}",
    )
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
