"""``gilbench run`` in the terminal: a progress bar while the plan is measured, then the
summary tables, the verdicts, warnings, and the paths of the result file and report."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

from gilbench.analysis.compare import compare, header, load_side, render
from gilbench.analysis.noise import noise_warnings
from gilbench.analysis.physics import suspect_lines
from gilbench.analysis.run_notes import run_notes
from gilbench.analysis.store import LoadReport, load_results
from gilbench.analysis.tidy import tidy_report
from gilbench.report.console import (
    decision_lines,
    fold_warning,
    latency_lines,
    latency_table,
    make_progress,
    summary_table,
    verdict_table,
)
from gilbench.report.page import render_report
from gilbench.run.command import RunOptions, RunPlan, plan_run, run_plan
from gilbench.run.orchestrator import RunOutcome
from gilbench.vocabulary import LATENCY_KIND, Point

EXIT_FAILED_POINTS = 1  # some points failed or timed out; everything else was saved
EXIT_INTERRUPTED = 130


def options_from(args: argparse.Namespace) -> RunOptions:
    """The run options of a parsed ``gilbench run`` (or ``gilbench fleet``, which names
    no machine: each host is one) command line."""
    return RunOptions(
        profile=args.profile,
        workloads=tuple(args.workload),
        backends=tuple(args.backend),
        workers=args.workers,
        cores=args.cores,
        params=tuple(args.param),
        tasks=args.tasks,
        tasks_per_worker=args.tasks_per_worker,
        processes=args.processes,
        budget_s=getattr(args, "budget", None),
        pythons=tuple(getattr(args, "ab_pythons", ())),
        results=args.results,
        machine=getattr(args, "machine", None),
        resume=args.resume,
        point_timeout=args.point_timeout,
    )


def run_and_summarise(args: argparse.Namespace, console: Console) -> int:
    """Plan, measure with a progress bar, then summarise; return the exit status."""
    plan = plan_run(options_from(args))

    def notify(message: str) -> None:
        head, sep, rest = message.partition(": ")
        if sep and head == "warning":
            console.print(f"[yellow]warning:[/] {escape(rest)}")
        else:
            console.print(escape(message))

    console.print(escape(plan.describe()))
    with make_progress(console) as progress:
        total = [len(plan.points) * plan.profile.rounds]
        bar = progress.add_task("measuring", total=total[0], point="")

        def advance(point: Point, status: str) -> None:
            if status.startswith("settling"):  # extra rounds: not known in advance
                total[0] += 1
                progress.update(bar, total=total[0])
            progress.update(bar, advance=1, point=escape(f"{status}: {point.name}"))

        outcome = run_plan(plan, notify, advance)
    if plan.sides:
        return summarise_ab(plan, outcome, console, Path(args.reports), not args.no_report)
    return summarise(
        plan,
        outcome,
        console,
        reports=Path(args.reports),
        report=not args.no_report,
        verbose=getattr(args, "verbose", False),
    )


def summarise_ab(
    plan: RunPlan, outcome: RunOutcome, console: Console, reports: Path, report: bool
) -> int:
    """An interleaved A/B run's end: the comparison of its two sides, their result files
    and one report over both; the exit status."""
    paths = [s.run_file.path for s in plan.sides if s.run_file.path.exists()]
    console.print(outcome.summary())
    if len(paths) == 2:
        side_a, side_b = (load_side(str(path), plan.results_dir) for path in paths)
        table = compare(side_a, side_b)
        out = Console(highlight=False, width=max(Console().width, 120))
        out.print(escape(header(side_a, side_b, table)), "\n")
        out.print(escape(render(table, "text")))
    for path in paths:
        console.print(f"results: {escape(str(path))}")
    if report and paths:
        found = load_results(*paths)
        tidied = tidy_report(found)
        title = f"gilbench A/B run {plan.run_id} on {plan.machine}"
        page = render_report(tidied.frame, tidied.report_with_skipped(found),
                             reports / f"{plan.machine}-{plan.run_id}-ab", title)  # fmt: skip
        console.print(f"report: {escape(str(page))}")
    if outcome.interrupted:
        console.print("[yellow]interrupted:[/] completed points are saved")
        return EXIT_INTERRUPTED
    return EXIT_FAILED_POINTS if outcome.failures else 0


#: Suspect points named one per line in the terminal; the rest are counted.
SUSPECT_LINES = 3


def print_guards(
    frame: pd.DataFrame, loaded: LoadReport | None, console: Console, verbose: bool = True
) -> None:
    """Points beyond physics (with ``verbose`` a red line each, the first few; always the
    count: they are left out of verdicts) and the run's notes (a quota cap, a GIL turned
    back on)."""
    lines = suspect_lines(frame)
    for line in lines[:SUSPECT_LINES] if verbose else []:
        console.print(f"[red]suspect:[/] {escape(line)}")
    if lines:
        console.print(
            f"[red]{len(lines)} suspect point{'s' if len(lines) != 1 else ''}[/] beyond what "
            "physics allows: marked in the report and the CSV (suspect), left out of verdicts"
        )
    for note in run_notes(loaded) if loaded is not None else []:
        console.print(f"[yellow]warning:[/] {escape(note)}")


def summarise(
    plan: RunPlan,
    outcome: RunOutcome,
    console: Console,
    reports: Path,
    report: bool,
    *,
    verbose: bool = False,
) -> int:
    """Print the decision first, the latency headline, failures, one line per kind of
    warning, and the paths last (``verbose``: every table and warning in full); write the
    report; return the exit status."""
    out = Console(highlight=False, width=max(Console().width, 120))
    path = outcome.path
    loaded = None
    frame = pd.DataFrame()
    if path.exists():
        found = load_results(path)
        tidied = tidy_report(found)
        loaded, frame = tidied.report_with_skipped(found), tidied.frame
    if not frame.empty:
        if verbose:
            if (frame["kind"] != LATENCY_KIND).any():
                out.print(summary_table(frame))
            latency = latency_table(frame)
            if latency is not None:
                out.print(latency)
            out.print(verdict_table(frame))
        for line in decision_lines(frame):
            out.print(escape(line))
        for line in latency_lines(frame):
            out.print(f"latency: {escape(line)}")
    for failure in outcome.failures:
        detail = escape(failure.detail.replace("\n", "\n  "))
        # A failure is rare and needs its reason: the end of its traceback, always.
        console.print(f"[red]{failure.reason}:[/] {escape(failure.point.name)}\n  {detail}")
    console.print(outcome.summary())
    if outcome.budget_note:
        console.print(escape(outcome.budget_note))
    if not frame.empty:
        warnings = noise_warnings(frame)
        for warning in warnings:
            text = warning if verbose else fold_warning(warning)
            out.print(f"[yellow]warning:[/] {escape(text)}")
        if warnings and not verbose:
            out.print("  (each warning in full, with the points it names: the report's "
                      "'Noise' section, or --verbose)")  # fmt: skip
    print_guards(frame, loaded, console, verbose)
    if path.exists():
        console.print(f"results: {escape(str(path))}")
        if report and loaded is not None:
            name = f"{plan.machine}-{path.stem}"
            title = f"gilbench run {plan.run_id} on {plan.machine}"
            page = render_report(frame, loaded, reports / name, title)
            console.print(f"report: {escape(str(page))}")
    if outcome.interrupted:
        console.print(
            "[yellow]interrupted:[/] completed points are saved; "
            "`gilbench run --resume` with the same options measures the rest"
        )
        return EXIT_INTERRUPTED
    return EXIT_FAILED_POINTS if outcome.failures else 0
