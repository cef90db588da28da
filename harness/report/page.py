"""The HTML report: one self-contained page (inline SVG, inline CSS, no network).

Every string that comes from a result file reaches the page through jinja2's
autoescaping or pandas' escaping, never raw.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from gilbench import __version__
from gilbench.analysis.crossover import crossover_table, crossovers
from gilbench.analysis.decision import DECISION_TABLE, decisions
from gilbench.analysis.intervals import interval_text
from gilbench.analysis.noise import noise_warnings
from gilbench.analysis.physics import physics_warnings
from gilbench.analysis.run_notes import run_notes
from gilbench.analysis.store import LoadReport
from gilbench.analysis.verdict import RULE_TABLE, RULE_TERMS, judge_all
from gilbench.report.console import fold_warning
from gilbench.report.figure_pool import draw_all
from gilbench.report.figures import anchor, html_table
from gilbench.report.sections import build_families
from gilbench.report.task_size import break_even_lines


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gilbench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _unique(frame: pd.DataFrame, column: str) -> list[str]:
    return sorted(str(v) for v in frame[column].unique()) if not frame.empty else []


def _skipped_backends(frame: pd.DataFrame) -> list[tuple[str, str]]:
    if frame.empty:
        return []
    rows = frame[frame["backends_skipped"].fillna("") != ""]
    pairs = rows[["interpreter", "backends_skipped"]].drop_duplicates()
    return sorted((str(i), str(r)) for i, r in pairs.itertuples(index=False))


MACHINE_FACTS = {
    "cpu_model": "CPU",
    "logical_cpus": "logical CPUs",
    "physical_cpus": "physical CPUs",
    "allowed_cpus": "allowed CPUs",
    "cgroup_cpu_quota": "cgroup CPU quota",
    "memory_bytes": "memory (GiB)",
    "os": "OS",
    "kernel": "kernel",
    "arch": "arch",
    "switch_interval_s": "switch interval (s)",
    "previous_hardware": "name used before for",
}


def environment_table(loaded: LoadReport) -> Markup:
    """One row per machine: the facts its machine.json recorded (strings escaped)."""
    rows = []
    for machine, facts in sorted(loaded.machines.items()):
        row: dict[str, object] = {"machine": machine}
        for key, label in MACHINE_FACTS.items():
            value = facts.get(key)
            if key == "memory_bytes" and isinstance(value, int | float):
                value = round(value / 2**30, 1)
            row[label] = "–" if value is None else str(value)
        rows.append(row)
    return html_table(pd.DataFrame(rows)) if rows else Markup("")


def pinned_cpus_text(rows: pd.DataFrame) -> str:
    """The CPUs the points ran on per core count, ``1 core: 1; 2 cores: 0-1`` (read back
    in their pools' workers), or a dash where no file recorded them."""
    if "cpu_list" not in rows.columns:
        return "–"
    pairs = {(int(c), str(cpus)) for c, cpus in zip(rows["cores"], rows["cpu_list"], strict=True)
             if isinstance(cpus, str) and cpus}  # fmt: skip
    text = "; ".join(f"{c} core{'s' if c != 1 else ''}: {cpus}" for c, cpus in sorted(pairs))
    return text or "–"


def interpreters_table(frame: pd.DataFrame) -> Markup:
    """One row per machine and interpreter: version, build, GIL, runs, points and the
    CPUs they were pinned to."""
    if frame.empty:
        return Markup("")
    groups = frame.groupby(["machine", "interpreter"], sort=True)
    table = groups.agg(
        python=("python_version", "first"),
        free_threaded=("free_threaded", "first"),
        gil_enabled=("gil_enabled", "first"),
        runs=("run_id", "nunique"),
        points=("name", "count"),
        profile=("profile", lambda v: ", ".join(sorted(set(map(str, v))))),
    )
    table["pinned CPUs"] = [pinned_cpus_text(rows) for _, rows in groups]
    return html_table(table.reset_index())


def hardware_warnings(loaded: LoadReport) -> list[str]:
    """Machine names that hold results from different hardware (pyperf records the CPU
    model and count with every run), or whose machine.json says the name was reused."""
    seen: dict[str, dict[tuple[str, str], str]] = {}
    for suite in loaded.suites:
        for bench in suite.suite.get_benchmarks()[:1]:
            meta = bench.get_metadata()
            hardware = (str(meta.get("cpu_model_name", "?")), str(meta.get("cpu_count", "?")))
            seen.setdefault(suite.machine, {}).setdefault(hardware, suite.path.name)
    warnings = []
    for machine, kinds in sorted(seen.items()):
        if len(kinds) > 1:
            found = "; ".join(f"{model}, {count} CPUs ({path})" for (model, count), path
                              in sorted(kinds.items()))  # fmt: skip
            warnings.append(
                f"machine name {machine!r} holds results from different hardware: {found}; "
                "give each machine its own name with gilbench run --machine"
            )
        elif loaded.machines.get(machine, {}).get("previous_hardware"):
            before = loaded.machines[machine]["previous_hardware"]
            warnings.append(
                f"machine name {machine!r} was used before for other hardware ({before}); "
                "its older result files may come from that machine"
            )
    return warnings


def verdict_matrix(verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Over several machines or interpreters: workloads by (machine, interpreter), each
    cell the threads verdict and the fastest backend; None for a single one."""
    contexts = sorted({(v["machine"], v["interpreter"]) for v in verdicts})
    if len(contexts) < 2:
        return None
    cells: dict[tuple[str, str], dict[tuple[str, str], dict[str, str]]] = {}
    anchors: dict[tuple[str, str], str] = {}
    for v in verdicts:
        key = (v["workload"], v["params"])
        anchors[key] = v["anchor"]
        cells.setdefault(key, {})[(v["machine"], v["interpreter"])] = {
            "threads": v["threads"],
            "best": f"{v['best_backend']} {v['best_speedup']:.2f}x",
        }
    rows = [
        {
            "workload": f"{workload}({params})",
            "anchor": anchors[(workload, params)],
            "cells": [cells[(workload, params)].get(context) for context in contexts],
        }
        for workload, params in sorted(cells)
    ]
    return {"columns": [f"{m} / {i}" for m, i in contexts], "rows": rows}


def _cell(value: float, unit: str) -> str:
    return "–" if pd.isna(value) else f"{value:.1f} {unit}"  # NaN: not measured


def decision_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The decision panel's rows (gilbench.analysis.decision), as text."""
    rows = []
    for d in decisions(frame) if not frame.empty else []:
        use = d.choice if d.choice == "serial" or d.choice.startswith("unclear") else (
            f"{d.choice} × {d.workers}")  # fmt: skip
        rows.append({
            "name": d.workload, "params": d.params, "anchor": anchor(d.workload),
            "context": f"{d.machine} / {d.interpreter}", "use": use, "note": d.note,
            "speedup": interval_text(d.speedup, d.ci_low, d.ci_high, unit="x"),
            "memory": _cell(d.memory_per_worker_mib, "MiB"), "startup": _cell(d.startup_ms, "ms"),
            "others": d.alternatives, "free_threaded": d.free_threaded,
        })  # fmt: skip
    return rows


def render_report(frame: pd.DataFrame, loaded: LoadReport, out_dir: Path, title: str) -> Path:
    """Write ``out_dir/index.html``, ``out_dir/results.csv`` and ``out_dir/crossover.csv``
    (gilbench.analysis.crossover); return the HTML path."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / "results.csv", index=False)
    found = crossovers(frame) if not frame.empty else []
    crossover_table(found).to_csv(out_dir / "crossover.csv", index=False)
    template = _environment().get_template("report.html.j2")
    families = build_families(frame) if not frame.empty else []
    verdicts = (
        [{**v.__dict__, "anchor": anchor(v.workload)} for v in judge_all(frame)]
        if not frame.empty
        else []
    )
    noise = hardware_warnings(loaded) + noise_warnings(frame)
    guards = physics_warnings(frame) + run_notes(loaded)
    draw_all(
        figure.svg
        for family in families
        for figure in [*family.figures, *(f for w in family.workloads for f in w.figures)]
    )
    html = template.render(
        title=title,
        version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machines=_unique(frame, "machine"),
        interpreters=_unique(frame, "interpreter"),
        runs=_unique(frame, "run_id"),
        n_points=len(frame),
        skipped=[(str(path), reason) for path, reason in loaded.skipped],
        failures=loaded.failures,
        families=families,
        verdicts=verdicts,
        verdict_matrix=verdict_matrix(verdicts),
        decisions=decision_rows(frame),
        decision_rule=DECISION_TABLE,
        task_sizes=break_even_lines(found),
        rule=RULE_TABLE,
        rule_terms=RULE_TERMS,
        # One line each (the count and what), the whole warning behind it.
        noise=[(fold_warning(w), w) for w in noise],
        # Numbers that are not results (physics), a capped sweep, a GIL turned back on.
        guards=[(fold_warning(w), w) for w in guards],
        environment=environment_table(loaded),
        interpreters_table=interpreters_table(frame),
        skipped_backends=_skipped_backends(frame),
        build_seconds=lambda: f"{time.perf_counter() - started:.1f}",
    )
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
