"""``gilbench fleet`` in the terminal, and :func:`fleet` for Python code with its own cluster.

While the fleet measures, one live table shows every machine (queued, checking, measuring
with its progress and ETA, done, failed and why); then the cross-machine report of the
results folder is written, as ``gilbench report`` writes it, and, with two machines or
more, the compare table of this fleet's result files (the first machine against each
other), as ``gilbench compare`` prints it.

From Python, with any cluster Dask knows how to build::

    from dask_jobqueue import SLURMCluster
    from gilbench.cli.fleet import fleet
    from gilbench.run.command import RunOptions
    from gilbench.fleet.driver import FleetOptions

    with SLURMCluster(cores=8, processes=1, job_extra_directives=["--exclusive"]) as cluster:
        cluster.scale(jobs=4)
        fleet(cluster, FleetOptions(RunOptions(profile="quick")))
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from gilbench.analysis.compare import CompareError, compare, header, load_side, render
from gilbench.analysis.store import load_results, run_id_now
from gilbench.analysis.tidy import tidy_report
from gilbench.cli.run import EXIT_FAILED_POINTS, EXIT_INTERRUPTED, options_from
from gilbench.fleet.driver import FleetOptions, run_fleet
from gilbench.fleet.records import (
    CANCELLED,
    DONE,
    FAILED,
    INCOMPLETE,
    MEASURING,
    TIMED_OUT,
    FleetOutcome,
    MachineStatus,
)
from gilbench.report.page import render_report
from gilbench.run.selection import UsageError

COLOURS = {
    DONE: "green",
    MEASURING: "cyan",
    INCOMPLETE: "yellow",
    FAILED: "red",
    TIMED_OUT: "red",
    CANCELLED: "yellow",
}


@dataclass(frozen=True)
class FleetResult:
    """What :func:`fleet` did: the fleet's outcome and the pages written from it."""

    outcome: FleetOutcome
    report: Path | None = None
    compare: Path | None = None

    @property
    def exit_status(self) -> int:
        """0 every machine done; 1 some not; 130 interrupted (the command's status)."""
        if self.outcome.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED_POINTS if self.outcome.failed or not self.outcome.machines else 0


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class FleetView:
    """One live table, a row per machine; outside a terminal, a line per state change."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.machines: list[MachineStatus] = []
        self.said: dict[str, str] = {}
        self.live = (
            Live(get_renderable=self.table, console=console, refresh_per_second=2)
            if console.is_terminal
            else None
        )

    @contextlib.contextmanager
    def shown(self) -> Iterator[FleetView]:
        """Show the live table while the block runs (its last state stays on screen)."""
        if self.live is None:
            yield self
            return
        with self.live:
            yield self

    def update(self, machines: Sequence[MachineStatus]) -> None:
        """Take the machines' new states (called by the fleet driver)."""
        self.machines = list(machines)
        if self.live is not None:
            return  # the live display re-renders on its own
        for machine in machines:
            said = f"{machine.state}: {machine.detail}" if machine.detail else machine.state
            if self.said.get(machine.machine) != said:
                self.said[machine.machine] = said
                self.console.print(f"{escape(machine.machine)}: {escape(said)}", soft_wrap=True)

    def table(self) -> Table:
        """The machines as a table: state, progress, elapsed time, ETA and detail."""
        table = Table(title="gilbench fleet", title_justify="left")
        for column in ("machine", "host", "worker", "state", "progress", "elapsed", "ETA"):
            table.add_column(column, no_wrap=True)
        table.add_column("detail", overflow="fold")
        for m in sorted(self.machines, key=lambda m: m.machine):
            progress = ""
            if m.runs_total:
                share = min(m.runs_done / m.runs_total, 1.0)
                progress = f"{m.runs_done}/{m.runs_total} runs ({share:.0%})"
            eta = m.eta()
            colour = COLOURS.get(m.state, "white")
            table.add_row(
                escape(m.machine),
                escape(m.host),
                escape(m.worker),
                f"[{colour}]{escape(m.state)}[/]",
                progress,
                _duration(m.elapsed() or None),
                f"~{_duration(eta)}" if eta is not None else "",
                escape(m.detail),
            )
        return table


def fleet(
    cluster: Any,
    options: FleetOptions | None = None,
    reports: str | Path = "reports",
    console: Console | None = None,
) -> FleetResult:
    """Measure on every host of ``cluster`` (a ``distributed.Client``, a scheduler
    address or a cluster object), bring the results home, write the report and the
    compare table; show the progress on ``console`` (standard error by default)."""
    console = console or Console(stderr=True, highlight=False)
    options = options or FleetOptions()
    view = FleetView(console)
    with view.shown():
        outcome = run_fleet(cluster, options, view.update)
    return _finish(outcome, Path(reports), console)


def _finish(outcome: FleetOutcome, reports: Path, console: Console) -> FleetResult:
    """Say how each machine ended; write the report and the compare table."""
    for m in outcome.machines:
        if m.state != DONE:
            colour = COLOURS.get(m.state, "red")
            detail = escape(m.detail.replace("\n", "\n  "))
            console.print(
                f"[{colour}]{m.state}:[/] {escape(m.machine)} ({escape(m.host)})\n  {detail}",
                soft_wrap=True,
            )
    console.print(
        f"fleet on {escape(outcome.scheduler)}: {escape(outcome.summary())}", soft_wrap=True
    )
    measured = sorted(outcome.measured, key=lambda m: m.machine)
    files = [outcome.results / m.machine / m.run_file for m in measured]
    files = [path for path in files if path.is_file()]
    for path in files:
        console.print(f"results: {escape(str(path))}", soft_wrap=True)
    out_dir = reports / f"fleet-{run_id_now()}"
    report = _report(outcome, out_dir, console) if files else None
    table = _compare(files, out_dir) if len(files) >= 2 else None
    if report is not None:
        console.print(f"report: {escape(str(report))}", soft_wrap=True)
    if table is not None:
        console.print(f"compare: {escape(str(table))}", soft_wrap=True)
    if outcome.interrupted:
        console.print(
            "[yellow]interrupted:[/] what the hosts saved is home; "
            "`gilbench fleet --resume` with the same options measures the rest",
            soft_wrap=True,
        )
    return FleetResult(outcome, report, table)


def _report(outcome: FleetOutcome, out_dir: Path, console: Console) -> Path | None:
    """The report of the whole results folder, as ``gilbench report`` writes it."""
    found = load_results(outcome.results)
    tidied = tidy_report(found)
    loaded = tidied.report_with_skipped(found)
    for path, reason in loaded.skipped:
        console.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}")
    if tidied.frame.empty:
        return None
    title = f"gilbench fleet: {outcome.results} ({len(loaded.machines)} machines)"
    return render_report(tidied.frame, loaded, out_dir, title)


def _compare(files: list[Path], out_dir: Path) -> Path:
    """``compare.md``: the first machine's result file against each other's."""
    sections = []
    first, *others = files
    for other in others:
        try:
            a, b = load_side(str(first), first.parent), load_side(str(other), other.parent)
            text = f"{header(a, b)}\n\n{render(compare(a, b), 'md')}"
        except CompareError as exc:
            text = f"not compared: {exc}\n"
        sections.append(f"## {first.parent.name} (A) vs {other.parent.name} (B)\n\n{text}")
    intro = (
        "# gilbench compare\n\nThis fleet's result files, the first machine (A) against each "
        "other (B), as `gilbench compare A B` shows them: B/A above 1 means B is faster; "
        "speedups compare scaling, not speed; machines are compared at all their cores.\n\n"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "compare.md"
    path.write_text(intro + "\n".join(sections), encoding="utf-8")
    return path


def load_cluster(spec: str) -> Any:
    """Call ``FILE.py:FUNCTION`` or ``MODULE:FUNCTION`` and return the cluster it makes."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"--cluster {spec!r}: expected FILE_OR_MODULE:FUNCTION")
    try:
        if where.endswith(".py"):
            module_spec = importlib.util.spec_from_file_location("gilbench_user_cluster", where)
            if module_spec is None or module_spec.loader is None or not Path(where).is_file():
                raise UsageError(f"--cluster: no such file {where}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        return getattr(module, name)()
    except (ImportError, AttributeError, OSError) as exc:
        raise UsageError(f"--cluster {spec}: {type(exc).__name__}: {exc}") from None


def fleet_command(args: argparse.Namespace, console: Console) -> int:
    """``gilbench fleet``: the options, the cluster, the fleet; its exit status."""
    options = FleetOptions(
        run=options_from(args),
        machine_from=args.machine_from,
        timeout=args.timeout,
        python=args.python,
        wait_for=args.wait_for,
    )
    options.check()
    from distributed import Client

    with contextlib.ExitStack() as stack:
        # A cluster or client made for this command ends with it.
        cluster = load_cluster(args.cluster) if args.cluster else None
        if cluster is not None and hasattr(cluster, "close"):
            stack.callback(cluster.close)
        try:
            where = cluster if cluster is not None else args.scheduler
            client = stack.enter_context(Client(where, timeout="30s"))
        except OSError as exc:  # no scheduler there (a timeout is an OSError too)
            said = args.scheduler or args.cluster
            raise UsageError(f"cannot reach the Dask scheduler of {said}: {exc}") from None
        result = fleet(client, options, args.reports, console)
    return result.exit_status
