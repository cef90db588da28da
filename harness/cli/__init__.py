"""The ``gilbench`` command line: run, fleet, list, export, compare, report, python.

The command line sits on top of the four rooms (see harness/README.md): it imports them
and nothing imports it.

Exit status: 0 success; 1 some points failed or timed out (everything else was saved);
2 bad input (unknown names, unwritable folders, unreadable results); 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

from rich.markup import escape

from gilbench.benchmarks import UnknownWorkloadError, WorkloadImportError
from gilbench.cli.commands import console
from gilbench.cli.parser import build_parser
from gilbench.cli.run import EXIT_FAILED_POINTS, EXIT_INTERRUPTED
from gilbench.measure.backends import UnknownBackendError
from gilbench.run.profiles import UnknownProfileError
from gilbench.run.selection import UsageError, use_user_workloads

EXIT_USAGE = 2

__all__ = ["EXIT_FAILED_POINTS", "EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main"]


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
