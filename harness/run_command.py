"""``gilbench run``: check the input, plan the matrix, measure it, then summarise.

Everything that can be wrong with the input is found before the first point is
measured (bad names, an unwritable folder, a PYTHON_GIL the build cannot honour).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console

from benchmarks import Workload
from harness.analysis import tidy
from harness.backends import backend_names, get_backend
from harness.console import latency_table, make_progress, summary_table, verdict_table
from harness.interpreter import InterpreterInfo
from harness.machine import (
    allowed_cpus,
    default_machine_name,
    load_average,
    run_facts_metadata,
    sanitize_machine_name,
)
from harness.matrix import Point, build_matrix
from harness.noise import noise_warnings
from harness.orchestrator import RunOutcome, run_points, write_machine_facts
from harness.profiles import Profile, get_profile
from harness.report import render_report
from harness.store import RunFile, check_writable, load_results, result_path, run_id_now


@dataclass
class RunPlan:
    """Everything decided before measuring."""

    profile: Profile
    workloads: list[Workload]
    backends: list[str]
    points: list[Point]
    machine: str
    info: InterpreterInfo
    available: int
    run_file: RunFile
    run_id: str


def plan_run(args: argparse.Namespace) -> RunPlan:
    """Validate the command line and plan the matrix; raise UsageError on bad input."""
    from harness.cli import (
        UsageError,
        parse_param_overrides,
        select_backends,
        select_workloads,
    )

    profile = get_profile(args.profile)
    if args.point_timeout is not None:
        if args.point_timeout <= 0:
            raise UsageError("--point-timeout must be a positive number of seconds")
        profile = dataclasses.replace(profile, point_timeout=args.point_timeout)
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
    if args.cores and max(args.cores) > available:
        raise UsageError(f"--cores {max(args.cores)}: this process may use only {available} CPUs")

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
            available,
            cores=args.cores,
            workers=args.workers,
            param_overrides=overrides,
            tasks=args.tasks,
            gil_requested=gil_requested,
        )
    except ValueError as exc:  # a parameter override of the wrong type
        raise UsageError(str(exc)) from None
    if not points:
        raise UsageError("the selection matches no matrix point")

    path = None
    if args.resume:
        previous = sorted((results_dir / machine).glob(f"*-{info.tag}.json"))
        path = previous[-1] if previous else None
    run_id = path.name.split("-", 1)[0] if path else run_id_now()
    run_file = RunFile(path or result_path(results_dir, machine, run_id, info.tag))
    return RunPlan(profile, workloads, backends, points, machine, info, available, run_file, run_id)


def skipped_backends(chosen: list[str]) -> str:
    """'name: reason; ...' for the backends this interpreter cannot run (none if chosen)."""
    if chosen:
        return ""
    reasons = {n: get_backend(n).unavailable_reason() for n in backend_names()}
    return "; ".join(f"{name}: {reason}" for name, reason in reasons.items() if reason)


def run_plan(plan: RunPlan, args: argparse.Namespace, console: Console) -> int:
    """Measure the plan, save after every point, then print the summary and verdicts."""
    results_dir = Path(args.results)
    machine_warning = write_machine_facts(results_dir / plan.machine, plan.machine)
    if machine_warning:
        console.print(f"[yellow]warning:[/] {machine_warning}")
    if args.resume and not plan.run_file.names:
        console.print(f"nothing to resume for {plan.machine}/{plan.info.tag}: a new run")
    run_metadata: dict[str, str | int | float] = {
        "machine": plan.machine,
        "run_id": plan.run_id,
        "profile": plan.profile.name,
        "pyperf_settings": plan.profile.pyperf_settings,
        "load_before": load_average(),
        **run_facts_metadata(),
    }
    skipped = skipped_backends(args.backend)
    if skipped:
        run_metadata["backends_skipped"] = skipped
        console.print(f"skipped backends: {skipped}")
    cores = ",".join(map(str, sorted({p.cores for p in plan.points})))
    console.print(
        f"gilbench: {len(plan.points)} points ({len(plan.workloads)} workloads, "
        f"{len(plan.backends)} backends, cores {cores} of {plan.available}), profile "
        f"{plan.profile.name}, {plan.info.tag} ({plan.info.version}), machine {plan.machine}"
    )
    with make_progress(console) as progress:
        total = [len(plan.points) * plan.profile.rounds]
        bar = progress.add_task("measuring", total=total[0], point="")

        def advance(point: Point, status: str) -> None:
            if status.startswith("settling"):  # extra rounds: not known in advance
                total[0] += 1
                progress.update(bar, total=total[0])
            progress.update(bar, advance=1, point=f"{status}: {point.name}")

        outcome = run_points(plan.points, plan.profile, plan.run_file, run_metadata, advance)
    plan.run_file.update_all({"load_after": outcome.load_after})
    return _summarise(plan, args, console, outcome)


def _summarise(
    plan: RunPlan, args: argparse.Namespace, console: Console, outcome: RunOutcome
) -> int:
    from harness.cli import EXIT_FAILED_POINTS, EXIT_INTERRUPTED

    out = Console(highlight=False, width=max(Console().width, 120))
    path = plan.run_file.path
    loaded = load_results(path) if path.exists() else None
    frame = tidy(loaded) if loaded else pd.DataFrame()
    if not frame.empty:
        if (frame["kind"] != "mixed").any():
            out.print(summary_table(frame))
        latency = latency_table(frame)
        if latency is not None:
            out.print(latency)
        out.print(verdict_table(frame))
    for failure in outcome.failures:
        detail = failure.detail.replace("\n", "\n  ")
        console.print(f"[red]{failure.reason}:[/] {failure.point.name}\n  {detail}")
    console.print(
        f"measured {len(outcome.measured)}, resumed {len(outcome.resumed)}, "
        f"failed {len(outcome.failures)} of {len(plan.points)} points; "
        f"load average {outcome.load_before:.2f} before, {outcome.load_after:.2f} after"
    )
    if not frame.empty:
        for warning in noise_warnings(frame):
            console.print(f"[yellow]warning:[/] {warning}")
    if path.exists():
        console.print(f"results: {path}")
        if not args.no_report and loaded is not None:
            name = f"{plan.machine}-{path.stem}"
            title = f"gilbench run {plan.run_id} on {plan.machine}"
            report = render_report(frame, loaded, Path(args.reports) / name, title)
            console.print(f"report: {report}")
    if outcome.interrupted:
        console.print(
            "[yellow]interrupted:[/] completed points are saved; "
            "`gilbench run --resume` with the same options measures the rest"
        )
        return EXIT_INTERRUPTED
    return EXIT_FAILED_POINTS if outcome.failures else 0
