"""The ``gilbench`` command line: run, list, export, report.

Exit status: 0 success; 1 some points failed or timed out (everything else was saved);
2 bad input (unknown names, unwritable folders, unreadable results); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from benchmarks import (
    USER_WORKLOADS_ENV,
    UnknownWorkloadError,
    Workload,
    WorkloadImportError,
    all_workloads,
    get_workload,
)
from harness.backends import UnknownBackendError, backend_names, describe, get_backend
from harness.profiles import PROFILES, UnknownProfileError

EXIT_FAILED_POINTS = 1  # some points failed or timed out; everything else was saved
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

console = Console(stderr=True, highlight=False)


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _int_list(text: str, minimum: int = 1) -> list[int]:
    try:
        values = [int(item) for item in _csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < minimum:
        raise argparse.ArgumentTypeError(f"expected integers >= {minimum}, got {text!r}")
    return values


def _worker_list(text: str) -> list[int]:
    return _int_list(text, minimum=0)


def select_workloads(patterns: Sequence[str]) -> list[Workload]:
    """Workloads named by exact names or family names (``cpu`` means every ``cpu.*``)."""
    registry = all_workloads()
    if not patterns:
        return list(registry.values())
    chosen: dict[str, Workload] = {}
    for pattern in patterns:
        family = [w for name, w in registry.items() if name.split(".", 1)[0] == pattern]
        if family:
            chosen.update((w.name, w) for w in family)
        else:
            chosen[pattern] = get_workload(pattern)  # raises with the valid names
    return list(chosen.values())


def select_backends(names: Sequence[str]) -> list[str]:
    """Backend names, checked; every available backend when none are given."""
    if not names:
        return [n for n in backend_names() if get_backend(n).unavailable_reason() is None]
    for name in names:
        reason = get_backend(name).unavailable_reason()
        if reason:
            raise UsageError(f"backend {name!r} cannot run here: {reason}")
    return list(dict.fromkeys(names))


def parse_param_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """``WORKLOAD:KEY=VALUE`` items into {workload: {key: value}}."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        target, sep, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        if not sep or not eq or not key:
            raise UsageError(f"--param {item!r}: expected WORKLOAD:KEY=VALUE, e.g. cpu.fib:n=20")
        get_workload(target)
        out.setdefault(target, {})[key] = value
    return out


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    """Measure a matrix and write its result file and report."""
    from harness.run_command import plan_run, run_plan

    signal.signal(signal.SIGTERM, _raise_interrupt)
    return run_plan(plan_run(args), args, console)


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


def _load_frame(sources: Sequence[str]):  # type: ignore[no-untyped-def]
    from harness.analysis import tidy
    from harness.store import load_results

    paths = [Path(s) for s in sources]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    loaded = load_results(*paths)
    frame = tidy(loaded)
    for path, reason in loaded.skipped:
        console.print(f"[yellow]skipped[/] {path}: {reason}")
    return loaded, frame


def cmd_export(args: argparse.Namespace) -> int:
    """Write the tidy table of a results folder to stdout."""
    _, frame = _load_frame(args.results)
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        sys.stdout.write(frame.to_json(orient="records", indent=1) + "\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Print two result sets side by side with significance marks."""
    from harness.compare import CompareError, compare, header, load_side, render

    try:
        a, b = (load_side(spec, Path(args.results)) for spec in (args.a, args.b))
        table = compare(a, b)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    for path, reason in dict.fromkeys(a.skipped + b.skipped):
        console.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}")
    if args.format != "csv":
        print(header(a, b))
        print(
            "B/A: B's throughput over A's (above 1: B is faster); p: Mann-Whitney on the "
            "values (** p < 0.01, * p < 0.05); speedups compare scaling, not speed.\n"
        )
    sys.stdout.write(render(table, args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render the HTML report of a results folder."""
    from harness.report import render_report

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

    from harness.pythons import cache_dir, discover

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
    from harness.pythons import PythonBuildError, build

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gilbench",
        description="Threads, processes, asyncio or free-threading: measure which gives "
        "throughput for your work on your machine, and where the GIL stops it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="measure a matrix of points and write results + report")
    run.add_argument(
        "--profile",
        default="default",
        help=f"how long to measure: {', '.join(PROFILES)} (default: default)",
    )
    run.add_argument(
        "--workload",
        action="extend",
        type=_csv_list,
        default=[],
        metavar="NAME",
        help="workload or family (cpu, io, ...); repeatable",
    )
    run.add_argument(
        "--backend",
        action="extend",
        type=_csv_list,
        default=[],
        metavar="NAME",
        help=f"one of {', '.join(backend_names())}; repeatable",
    )
    run.add_argument(
        "--workers",
        type=_worker_list,
        metavar="N,N,...",
        help="worker counts instead of the profile's sweep (for mixed workloads: the CPU "
        "workers beside the responder, where 0 is the responder alone)",
    )
    run.add_argument(
        "--cores",
        type=_int_list,
        metavar="K,K,...",
        help="CPU counts to restrict each point to (default: the profile's 1, 2, 4 .. all)",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="WORKLOAD:KEY=VALUE",
        help="override a workload parameter, e.g. cpu.fib:n=20",
    )
    run.add_argument(
        "--tasks", type=int, metavar="N", help="tasks per batch (default: per workload)"
    )
    run.add_argument("--results", default="results", metavar="DIR", help="results folder")
    run.add_argument("--reports", default="reports", metavar="DIR", help="reports folder")
    run.add_argument("--machine", help="machine name (default: from the host name)")
    run.add_argument(
        "--resume",
        action="store_true",
        help="add the missing points to this machine and interpreter's latest run",
    )
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.add_argument(
        "--point-timeout",
        type=float,
        metavar="SECONDS",
        help="kill a point that has no result after this long (default: the profile's)",
    )
    _add_workloads_from(run)
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list workloads, backends and profiles")
    _add_workloads_from(lst)
    lst.set_defaults(func=cmd_list)

    export = sub.add_parser("export", help="print the tidy table of results (one row per point)")
    export.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="results folder, machine folder or result file",
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.set_defaults(func=cmd_export)

    cmp = sub.add_parser(
        "compare", help="compare two result files, machine folders or interpreters, point by point"
    )
    cmp.add_argument(
        "a", metavar="A", help="result file, machine folder, interpreter tag or machine"
    )
    cmp.add_argument("b", metavar="B", help="the same, for the other side")
    cmp.add_argument(
        "--results", default="results", metavar="DIR", help="where names are looked up"
    )
    cmp.add_argument("--format", choices=("text", "md", "csv"), default="text")
    cmp.set_defaults(func=cmd_compare)

    report = sub.add_parser("report", help="render the HTML report of a results folder")
    report.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR")
    report.add_argument(
        "-o",
        "--output",
        metavar="OUT_DIR",
        help="folder for index.html (default: reports/<name of RESULTS_DIR>)",
    )
    report.add_argument("--reports", default="reports", help=argparse.SUPPRESS)
    report.set_defaults(func=cmd_report)

    python = sub.add_parser("python", help="find or build the interpreters to compare")
    python_sub = python.add_subparsers(dest="python_command", required=True, metavar="ACTION")
    listing = python_sub.add_parser("list", help="interpreters on PATH and in the build cache")
    listing.add_argument("--paths", action="store_true", help="print only their paths")
    listing.set_defaults(func=cmd_python_list)
    build = python_sub.add_parser(
        "build", help="build CPython from a source tarball into ~/.cache/gilbench/pythons"
    )
    build.add_argument("version", help="e.g. 3.14.7 (must match the tarball)")
    build.add_argument(
        "--source",
        required=True,
        metavar="TARBALL",
        help="Python-X.Y.Z.tar.xz, e.g. ../shared/cpython/Python-3.14.7.tar.xz",
    )
    variant = build.add_mutually_exclusive_group()
    variant.add_argument(
        "--free-threaded", action="store_true", help="configure --disable-gil (a 3.14t interpreter)"
    )
    variant.add_argument(
        "--both",
        action="store_true",
        help="a default and a free-threaded build with identical flags",
    )
    build.add_argument("--jobs", type=int, help="make -j (default: every CPU)")
    build.add_argument("--force", action="store_true", help="rebuild even if already built")
    build.set_defaults(func=cmd_python_build)
    return parser


def _add_workloads_from(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workloads-from",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="also load your own @workload functions from a .py file or module; repeatable",
    )


def use_user_workloads(sources: Sequence[str]) -> None:
    """Name extra workload modules for this process and every worker it starts."""
    if not sources:
        return
    resolved = [str(Path(s).resolve()) if s.endswith(".py") else s for s in sources]
    known = [s for s in os.environ.get(USER_WORKLOADS_ENV, "").split(",") if s]
    os.environ[USER_WORKLOADS_ENV] = ",".join(dict.fromkeys(known + resolved))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``gilbench`` console script."""
    args = build_parser().parse_args(argv)
    try:
        use_user_workloads(getattr(args, "workloads_from", []))
        status = args.func(args)
    except (
        UsageError,
        UnknownWorkloadError,
        UnknownBackendError,
        UnknownProfileError,
        WorkloadImportError,
    ) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        status = EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        status = EXIT_INTERRUPTED
    sys.exit(status)
