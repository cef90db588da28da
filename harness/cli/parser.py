"""The argument parser of every ``gilbench`` subcommand."""

from __future__ import annotations

import argparse

from gilbench.cli.commands import (
    cmd_compare,
    cmd_export,
    cmd_fleet,
    cmd_list,
    cmd_python_build,
    cmd_python_list,
    cmd_report,
    cmd_run,
)
from gilbench.measure.backends import backend_names
from gilbench.run.profiles import PROFILES


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


def _duration(text: str) -> float:
    """``5m``, ``90s``, ``1h`` or plain seconds, as seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time such as 5m or 300s, got {text!r}") \
            from None  # fmt: skip
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a positive time, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gilbench",
        description="Threads, processes, asyncio or free-threading: measure which gives "
        "throughput for your work on your machine, and where the GIL stops it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="measure a matrix of points and write results + report")
    _add_matrix_options(run)
    run.add_argument("--machine", help="machine name (default: from the host name)")
    run.add_argument(
        "--resume",
        action="store_true",
        help="add the missing points to this machine and interpreter's latest run",
    )
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="print every table (best speedups, latency, verdicts) and each warning in full",
    )
    run.add_argument(
        "--python",
        dest="ab_pythons",
        type=_csv_list,
        default=[],
        metavar="A,B",
        help="measure two interpreters interleaved in one run, point by point and round by "
        "round (3.14, 3.14t, 3.14t-gil, a tag or a path), then compare them",
    )
    _add_workloads_from(run)
    run.set_defaults(func=cmd_run)

    fleet = sub.add_parser(
        "fleet",
        help="measure the same matrix on every host of a Dask cluster; results come home",
    )
    where = fleet.add_mutually_exclusive_group(required=True)
    where.add_argument("--scheduler", metavar="ADDRESS", help="e.g. tcp://head-node:8786")
    where.add_argument(
        "--cluster",
        metavar="FILE_OR_MODULE:FUNCTION",
        help="a function of yours that returns a Dask cluster (SSHCluster, a dask-jobqueue "
        "cluster, ...), e.g. my_cluster.py:make",
    )
    _add_matrix_options(fleet)
    fleet.add_argument(
        "--machine-from",
        choices=("host", "worker"),
        default="host",
        help="name each machine after its host (default) or its Dask worker",
    )
    fleet.add_argument(
        "--resume",
        action="store_true",
        help="re-run only the machines not done; each measures only its missing points",
    )
    fleet.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop a machine's measurement after this long (what it saved is kept)",
    )
    fleet.add_argument(
        "--python",
        metavar="EXE",
        help="the interpreter to measure on every host (default: the Dask worker's)",
    )
    fleet.add_argument(
        "--wait-for",
        type=int,
        default=1,
        metavar="N",
        help="wait (up to 10 minutes) until N workers have joined the cluster (default: 1)",
    )
    fleet.set_defaults(func=cmd_fleet)

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
    export.add_argument(
        "--table",
        choices=("points", "crossover"),
        default="points",
        help="points: one row per point; crossover: where each backend breaks even with "
        "serial and with threads, by task length (workloads measured at several lengths)",
    )
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


def _add_matrix_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose and place the matrix: shared by ``run`` and ``fleet``."""
    parser.add_argument(
        "--profile",
        default="default",
        help=f"how long to measure: {', '.join(PROFILES)} (default: default)",
    )
    parser.add_argument(
        "--workload",
        action="extend",
        type=_csv_list,
        default=[],
        metavar="NAME",
        help="workload or family (cpu, io, ...); repeatable",
    )
    parser.add_argument(
        "--backend",
        action="extend",
        type=_csv_list,
        default=[],
        metavar="NAME",
        help=f"one of {', '.join(backend_names())}; repeatable",
    )
    parser.add_argument(
        "--workers",
        type=_worker_list,
        metavar="N,N,...",
        help="worker counts instead of the profile's sweep (for mixed workloads: the CPU "
        "workers beside the responder, where 0 is the responder alone)",
    )
    parser.add_argument(
        "--cores",
        type=_int_list,
        metavar="K,K,...",
        help="CPU counts to restrict each point to (default: the profile's 1, 2, 4 .. all)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="WORKLOAD:KEY=VALUE",
        help="override a workload parameter, e.g. cpu.fib:n=20",
    )
    parser.add_argument(
        "--tasks",
        type=_positive_int,
        metavar="N",
        help="tasks in a serial batch and in the serial partner's sample (default: per "
        "workload); a pool's batch also has at least --tasks-per-worker per worker",
    )
    parser.add_argument(
        "--tasks-per-worker",
        type=_positive_int,
        metavar="N",
        help="at least N tasks per worker in every pool batch (default: the profile's: "
        "2 smoke, 8 quick, 16 default, 32 rigorous)",
    )
    parser.add_argument(
        "--budget",
        type=_duration,
        metavar="TIME",
        help="finish within TIME (5m, 300s; 0: no limit; default: the profile's, 8m for "
        "quick and 20m for default): every point once, then more processes for the headline "
        "points first; the end says what the budget bought",
    )
    parser.add_argument(
        "--processes",
        type=_positive_int,
        metavar="N",
        help="pyperf processes per point, spread over the profile's rounds (default: the "
        "profile's; a comparison that should find a 10%% change on one point needs about 12: "
        "docs/statistics.md)",
    )
    parser.add_argument("--results", default="results", metavar="DIR", help="results folder")
    parser.add_argument("--reports", default="reports", metavar="DIR", help="reports folder")
    parser.add_argument(
        "--point-timeout",
        type=float,
        metavar="SECONDS",
        help="kill a point that has no result after this long (default: the profile's)",
    )
