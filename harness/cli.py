"""The ``gilbench`` command line: run, list, export, report.

Exit status: 0 success; 1 some points failed or timed out (everything else was saved);
2 bad input (unknown names, unwritable folders, unreadable results); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from rich.console import Console

from benchmarks import UnknownWorkloadError, Workload, all_workloads, get_workload
from harness.backends import UnknownBackendError, backend_names, describe, get_backend
from harness.profiles import PROFILES, UnknownProfileError, get_profile

EXIT_FAILED_POINTS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

console = Console(stderr=True, highlight=False)


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _int_list(text: str) -> list[int]:
    try:
        values = [int(item) for item in _csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


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
    from harness.analysis import tidy
    from harness.console import make_progress, summary_table
    from harness.interpreter import InterpreterInfo
    from harness.machine import allowed_cpus, default_machine_name, sanitize_machine_name
    from harness.matrix import build_matrix
    from harness.orchestrator import run_points, write_machine_facts
    from harness.report import render_report
    from harness.store import RunFile, check_writable, load_results, result_path, run_id_now

    profile = get_profile(args.profile)
    workloads = select_workloads(args.workload)
    backends = select_backends(args.backend)
    overrides = parse_param_overrides(args.param)
    try:
        machine = sanitize_machine_name(args.machine or default_machine_name())
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    gil_requested = os.environ.get("PYTHON_GIL") or None
    info = InterpreterInfo.current(gil_requested)
    if gil_requested is not None and gil_requested not in ("0", "1"):
        raise UsageError(f"PYTHON_GIL must be 0 or 1, not {gil_requested!r}")
    if gil_requested is not None and not info.free_threaded:
        raise UsageError(
            f"PYTHON_GIL={gil_requested} needs a free-threaded build; {info.executable} is not one"
        )

    available = len(allowed_cpus())
    cores = args.cores or [available]
    if max(cores) > available:
        raise UsageError(f"--cores {max(cores)}: this process may use only {available} CPUs")

    results_dir = Path(args.results)
    try:
        check_writable(results_dir / machine)
    except OSError as exc:
        raise UsageError(str(exc)) from None

    try:
        points = build_matrix(
            workloads,
            backends,
            profile,
            cores,
            workers=args.workers,
            param_overrides=overrides,
            tasks=args.tasks,
            gil_requested=gil_requested,
        )
    except ValueError as exc:  # a parameter override of the wrong type
        raise UsageError(str(exc)) from None
    if not points:
        raise UsageError("the selection matches no matrix point")

    machine_warning = write_machine_facts(results_dir / machine, machine)
    if machine_warning:
        console.print(f"[yellow]warning:[/] {machine_warning}")

    if args.resume:
        previous = sorted((results_dir / machine).glob(f"*-{info.tag}.json"))
        path = previous[-1] if previous else None
        if path is None:
            console.print(f"nothing to resume for {machine}/{info.tag}: starting a new run")
    else:
        path = None
    run_id = path.name.split("-", 1)[0] if path else run_id_now()
    run_file = RunFile(path or result_path(results_dir, machine, run_id, info.tag))
    run_metadata: dict[str, str | int | float] = {
        "machine": machine,
        "run_id": run_id,
        "profile": profile.name,
    }

    console.print(
        f"gilbench: {len(points)} points ({len(workloads)} workloads x {len(backends)} backends), "
        f"profile {profile.name}, {info.tag} ({info.version}), machine {machine}, "
        f"cores {','.join(map(str, cores))}"
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with make_progress(console) as progress:
        bar = progress.add_task("measuring", total=len(points), point="")

        def advance(point: object, status: str) -> None:
            progress.update(bar, advance=1, point=f"{status}: {getattr(point, 'name', '')}")

        outcome = run_points(points, profile, run_file, run_metadata, advance)

    loaded = load_results(run_file.path) if run_file.path.exists() else None
    frame = tidy(loaded) if loaded else None
    if frame is not None and not frame.empty:
        Console(highlight=False).print(summary_table(frame))
    for failure in outcome.failures:
        console.print(
            f"[red]{failure.reason}:[/] {failure.point.name}\n  "
            + failure.detail.replace("\n", "\n  ")
        )
    console.print(
        f"measured {len(outcome.measured)}, resumed {len(outcome.resumed)}, "
        f"failed {len(outcome.failures)} of {len(points)} points; "
        f"load average {outcome.load_before:.2f} before, {outcome.load_after:.2f} after"
    )
    if outcome.load_before > 0.5 * available:
        console.print(
            f"[yellow]warning:[/] the machine was busy at the start (load "
            f"{outcome.load_before:.2f} on {available} CPUs): numbers may be noisy"
        )
    if run_file.path.exists():
        console.print(f"results: {run_file.path}")
        if not args.no_report and loaded is not None and frame is not None:
            out_dir = Path(args.reports) / run_file.path.stem.replace(run_id, f"{machine}-{run_id}")
            report = render_report(frame, loaded, out_dir, f"gilbench run {run_id} on {machine}")
            console.print(f"report: {report}")
    if outcome.interrupted:
        console.print(
            "[yellow]interrupted:[/] completed points are saved; "
            "`gilbench run --resume` with the same options measures the rest"
        )
        return EXIT_INTERRUPTED
    return EXIT_FAILED_POINTS if outcome.failures else 0


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
        type=_int_list,
        metavar="N,N,...",
        help="worker counts instead of the profile's sweep",
    )
    run.add_argument(
        "--cores",
        type=_int_list,
        metavar="K,K,...",
        help="CPU counts to restrict each point to (default: all allowed)",
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
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list workloads, backends and profiles")
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
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``gilbench`` console script."""
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except (UsageError, UnknownWorkloadError, UnknownBackendError, UnknownProfileError) as exc:
        console.print(f"[red]error:[/] {exc}")
        status = EXIT_USAGE
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        status = EXIT_INTERRUPTED
    sys.exit(status)
