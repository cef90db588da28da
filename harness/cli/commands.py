"""The commands behind ``gilbench``: each parses nothing, reads its options from an
``argparse.Namespace`` and returns an exit status (see gilbench.cli)."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
from rich.markup import escape

from gilbench.benchmarks import all_workloads
from gilbench.cli.run import run_and_summarise
from gilbench.measure.backends import backend_names, describe, get_backend
from gilbench.run.profiles import PROFILES
from gilbench.run.selection import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from gilbench.analysis.store import LoadReport

console = Console(stderr=True, highlight=False)


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    """Measure a matrix and write its result file and report."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return run_and_summarise(args, console)


def cmd_fleet(args: argparse.Namespace) -> int:
    """Measure the matrix on every host of a Dask cluster and bring the results home."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("gilbench fleet needs Dask: pip install gilbench[fleet]") from None
    from gilbench.cli.fleet import fleet_command

    signal.signal(signal.SIGTERM, _raise_interrupt)
    return fleet_command(args, console)


def cmd_list(args: argparse.Namespace) -> int:
    """Print workloads, backends and profiles with one-line descriptions."""
    from rich.table import Table

    out = Console(highlight=False)
    workloads = Table(title="workloads", title_justify="left")
    for column in ("name", "kind", "params (first = default)", "async", "description"):
        workloads.add_column(column)
    for wl in all_workloads().values():
        params = ", ".join(f"{k}={'|'.join(map(str, v))}" for k, v in wl.params.items())
        workloads.add_row(
            wl.name, wl.kind, params or "-", "yes" if wl.async_func else "inline", wl.description
        )
    out.print(workloads)
    backends = Table(title="backends", title_justify="left")
    for column in ("name", "variants", "status", "description"):
        backends.add_column(column)
    for name in backend_names():
        backend = get_backend(name)
        variants = ", ".join(m for m in backend.start_methods() if m) or "-"
        reason = backend.unavailable_reason()
        backends.add_row(
            name, variants, f"skipped: {reason}" if reason else "available", describe(backend)
        )
    out.print(backends)
    profiles = Table(title="profiles", title_justify="left")
    profiles.add_column("name")
    profiles.add_column("description")
    for profile in PROFILES.values():
        profiles.add_row(profile.name, profile.description)
    out.print(profiles)
    return 0


def _load_frame(sources: Sequence[str]) -> tuple[LoadReport, pd.DataFrame]:
    from gilbench.analysis.store import load_results
    from gilbench.analysis.tidy import tidy_report

    paths = [Path(s) for s in sources]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    found = load_results(*paths)
    tidied = tidy_report(found)
    loaded = tidied.report_with_skipped(found)
    for path, reason in loaded.skipped:
        console.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}")
    return loaded, tidied.frame


def cmd_export(args: argparse.Namespace) -> int:
    """Write the tidy table of a results folder (or its task-size crossovers) to stdout."""
    _, frame = _load_frame(args.results)
    if args.table == "crossover":
        from gilbench.analysis.crossover import crossover_table, crossovers

        frame = crossover_table(crossovers(frame))
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        sys.stdout.write(frame.to_json(orient="records", indent=1) + "\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Print two result sets side by side with significance marks."""
    from gilbench.analysis.compare import CompareError, compare, header, load_side, render

    try:
        a, b = (load_side(spec, Path(args.results)) for spec in (args.a, args.b))
        table = compare(a, b)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    for path, reason in dict.fromkeys(a.skipped + b.skipped):
        console.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}")
    if args.format != "csv":
        print(header(a, b, table) + "\n")  # how measured, what it can find, the marks
    sys.stdout.write(render(table, args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render the HTML report of a results folder."""
    from gilbench.report.page import render_report

    loaded, frame = _load_frame([args.results])
    source = Path(args.results)
    out_dir = Path(args.output) if args.output else Path(args.reports) / (source.stem or "results")
    path = render_report(frame, loaded, out_dir, f"gilbench report: {source}")
    console.print(f"{len(frame)} points from {len(loaded.suites)} file(s)")
    print(path)
    return 0


def cmd_python_list(args: argparse.Namespace) -> int:
    """List the interpreters gilbench can find (PATH and its build cache)."""
    from rich.table import Table

    from gilbench.run.pythons import cache_dir, discover

    found = discover()
    if args.paths:
        for python in found:
            print(python.executable)
        return 0
    table = Table(title=f"interpreters (PATH and {cache_dir()})", title_justify="left")
    for column in ("tag", "version", "free-threaded", "from", "executable"):
        table.add_column(column)
    for python in found:
        table.add_row(python.tag, python.version, "yes" if python.free_threaded else "no",
                      python.source, python.executable)  # fmt: skip
    Console(highlight=False).print(table)
    return 0


def cmd_python_build(args: argparse.Namespace) -> int:
    """Build CPython from a source tarball into the cache (default, free-threaded or both)."""
    from gilbench.run.pythons import PythonBuildError, build

    if not re.fullmatch(r"3\.\d+\.\d+", args.version):
        raise UsageError(f"version {args.version!r} is not like 3.14.7")
    variants = [False, True] if args.both else [args.free_threaded]
    try:
        for free_threaded in variants:
            path = build(
                args.version, Path(args.source), free_threaded, jobs=args.jobs, force=args.force
            )
            print(path)
    except PythonBuildError as exc:
        raise UsageError(str(exc)) from None
    return 0
