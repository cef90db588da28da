"""``gilbench run`` without the terminal: check the options, plan the matrix, measure it.

Everything that can be wrong with the input is found before the first point is
measured (bad names, an unwritable folder, a PYTHON_GIL the build cannot honour).  The
command line (gilbench.cli) shows the progress and the summary; other drivers (the
chaos scenario, the self-benchmark) call :func:`plan_run` and :func:`run_plan` and read
the :class:`~gilbench.run.orchestrator.RunOutcome` they get back.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gilbench.analysis.store import RunFile, check_writable, result_path, run_id_now
from gilbench.benchmarks import Workload
from gilbench.measure.interpreter import InterpreterInfo
from gilbench.measure.machine import (
    allowed_cpus,
    cgroup_cpu_quota,
    cores_cap_note,
    cpus_by_cores,
    default_machine_name,
    load_average,
    run_facts_metadata,
    sanitize_machine_name,
    usable_cpu_count,
)
from gilbench.measure.pinning import affinity_supported
from gilbench.run.ab_run import SideRun, run_points_ab
from gilbench.run.matrix import build_matrix
from gilbench.run.orchestrator import RunOutcome, run_points, write_machine_facts
from gilbench.run.profiles import Profile, get_profile
from gilbench.run.selection import (
    UsageError,
    parse_param_overrides,
    select_backends,
    select_workloads,
    skipped_backends,
)
from gilbench.run.sides import Side, prepare_sides
from gilbench.vocabulary import Point, format_cpu_list


@dataclass(frozen=True)
class RunOptions:
    """What ``gilbench run`` was asked for (its command-line options, as data)."""

    profile: str = "default"
    workloads: Sequence[str] = ()
    backends: Sequence[str] = ()
    workers: Sequence[int] | None = None
    cores: Sequence[int] | None = None
    params: Sequence[str] = ()
    tasks: int | None = None
    tasks_per_worker: int | None = None
    processes: int | None = None
    #: Seconds the run may take (None: the profile's budget); 0 means no limit.
    budget_s: float | None = None
    #: Two interpreters measured interleaved in one run (gilbench.run.sides): A, B.
    pythons: Sequence[str] = ()
    results: str = "results"
    machine: str | None = None
    resume: bool = False
    point_timeout: float | None = None


@dataclass(frozen=True)
class SidePlan:
    """One side of an interleaved A/B run as planned: its interpreter, its points (the
    plan's, with its PYTHON_GIL) and its result file."""

    side: Side
    points: list[Point]
    run_file: RunFile


@dataclass(frozen=True)
class RunPlan:
    """Everything decided before measuring."""

    options: RunOptions
    profile: Profile
    workloads: list[Workload]
    backends: list[str]
    points: list[Point]
    machine: str
    info: InterpreterInfo
    available: int
    run_file: RunFile
    run_id: str
    #: Why the core sweep stops below the allowed CPUs (a cgroup quota), else None.
    cores_note: str | None = None
    #: An interleaved A/B run's sides, each with its points and result file; () else.
    sides: tuple[SidePlan, ...] = ()
    #: When planning ended (``time.monotonic``): a time budget counts from here.
    planned_at: float = field(default_factory=time.monotonic)

    @property
    def cpu_choice(self) -> str:
        """The CPUs chosen per core count, ``1:1 2:0-1`` ("" where nothing is pinned)."""
        chosen = {p.cores: p.cpus for p in self.points if p.cpus}
        return " ".join(f"{k}:{format_cpu_list(list(chosen[k]))}" for k in sorted(chosen))

    @property
    def results_dir(self) -> Path:
        """The results folder (machine folders inside)."""
        return Path(self.options.results)

    def describe(self) -> str:
        """One line: how many points, of what, where."""
        cores = ",".join(map(str, sorted({p.cores for p in self.points})))
        # A slice without serial measures its own baselines (gilbench.run.matrix).
        added = "serial" not in self.backends and any(p.backend == "serial" for p in self.points)
        who = f"{self.info.tag} ({self.info.version})"
        if self.sides:
            who = "interleaved A/B: " + ", ".join(
                f"{s.side.label} {s.side.tag} ({s.side.version})" for s in self.sides
            )
        return (
            f"gilbench: {len(self.points)} points ({len(self.workloads)} workloads, "
            f"{len(self.backends)} backends{' + serial baselines' if added else ''}, "
            f"cores {cores} of {self.available}), profile "
            f"{self.profile.name}, {who}, machine {self.machine}"
        )


def with_processes(profile: Profile, processes: int) -> Profile:
    """``profile`` with at least ``processes`` pyperf processes per point, as many in each
    of its rounds (rounded up to a multiple of the rounds)."""
    per_round = -(-processes // profile.rounds)
    return dataclasses.replace(profile, processes=per_round * profile.rounds)


def _interpreter(gil_requested: str | None) -> InterpreterInfo:
    info = InterpreterInfo.current(gil_requested)
    if gil_requested is not None and gil_requested not in ("0", "1"):
        raise UsageError(f"PYTHON_GIL must be 0 or 1, not {gil_requested!r}")
    if gil_requested is not None and not info.free_threaded:
        raise UsageError(
            f"PYTHON_GIL={gil_requested} needs a free-threaded build; {info.executable} is not one"
        )
    return info


def plan_run(options: RunOptions) -> RunPlan:
    """Validate the options and plan the matrix; raise UsageError on bad input."""
    profile = get_profile(options.profile)
    if options.point_timeout is not None:
        if options.point_timeout <= 0:
            raise UsageError("--point-timeout must be a positive number of seconds")
        profile = dataclasses.replace(profile, point_timeout=options.point_timeout)
    if options.processes is not None:
        profile = with_processes(profile, options.processes)
    if options.budget_s is not None:
        if options.budget_s < 0:
            raise UsageError("--budget must be a positive time, e.g. 5m or 300s (0: no limit)")
        profile = dataclasses.replace(profile, budget_s=options.budget_s or None)
    workloads = select_workloads(options.workloads)
    backends = select_backends(options.backends)
    overrides = parse_param_overrides(options.params)
    try:
        machine = sanitize_machine_name(options.machine or default_machine_name())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    gil_requested = os.environ.get("PYTHON_GIL") or None
    info = _interpreter(gil_requested)

    allowed = allowed_cpus()
    quota = cgroup_cpu_quota()
    available = usable_cpu_count(len(allowed), quota)
    cores_note = cores_cap_note(len(allowed), quota)
    if options.cores and max(options.cores) > available:
        why = f" (cgroup CPU quota of {quota:g}, {len(allowed)} allowed)" if cores_note else ""
        raise UsageError(
            f"--cores {max(options.cores)}: this process may use only {available} CPUs{why}"
        )
    results_dir = Path(options.results)
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
            cores=options.cores,
            workers=options.workers,
            param_overrides=overrides,
            tasks=options.tasks,
            tasks_per_worker=options.tasks_per_worker,
            gil_requested=gil_requested,
        )
    except ValueError as exc:  # a parameter override of the wrong type
        raise UsageError(str(exc)) from None
    if not points:
        raise UsageError("the selection matches no matrix point")
    points = pinned(points, allowed)

    if options.pythons:
        if options.resume:
            raise UsageError("--resume does not apply to an interleaved A/B run (--python)")
        run_id = run_id_now()
        sides = prepare_sides(options.pythons, results_dir / machine / f"{run_id}-ab-setup.log")
        cannot = {name for side in sides for name, why in side.unavailable.items() if why}
        points = [p for p in points if p.backend not in cannot]
        if not points:
            raise UsageError("the selection matches no point both interpreters can run")
        plans = tuple(
            SidePlan(side, [dataclasses.replace(p, gil_requested=side.gil_requested)
                            for p in points],
                     RunFile(result_path(results_dir, machine, run_id, side.tag)))
            for side in sides
        )  # fmt: skip
        return RunPlan(
            options, profile, workloads, backends, points, machine, info, available,
            plans[0].run_file, run_id, cores_note, plans,
        )  # fmt: skip

    path = None
    if options.resume:
        previous = sorted((results_dir / machine).glob(f"*-{info.tag}.json"))
        path = previous[-1] if previous else None
    run_id = path.name.split("-", 1)[0] if path else run_id_now()
    run_file = RunFile(path or result_path(results_dir, machine, run_id, info.tag))
    return RunPlan(
        options, profile, workloads, backends, points, machine, info, available, run_file, run_id,
        cores_note,
    )  # fmt: skip


def pinned(points: list[Point], allowed: list[int]) -> list[Point]:
    """``points``, each with the CPUs it is pinned to: chosen once per core count, by
    topology (one logical CPU per physical core before any hyperthread sibling, CPU 0
    last), so that every point with k cores runs on the same k CPUs.  Unchanged where
    the OS has no affinity API."""
    if not affinity_supported():
        return points
    chosen = cpus_by_cores([p.cores for p in points], allowed)
    return [dataclasses.replace(p, cpus=tuple(chosen[p.cores])) for p in points]


def run_plan(
    plan: RunPlan,
    notify: Callable[[str], None] = lambda message: None,
    on_point_done: Callable[[Point, str], None] = lambda point, status: None,
) -> RunOutcome:
    """Measure the plan, saving after every point; return what the run did.

    ``notify`` receives warnings and notes meant for the user (a reused machine name,
    backends this interpreter cannot run); ``on_point_done`` is called after every point
    with its status ("round 1/2", "settling 1/4", "resumed", "failed", ...).
    """
    machine_warning = write_machine_facts(plan.results_dir / plan.machine, plan.machine)
    if machine_warning:
        notify(f"warning: {machine_warning}")
    if plan.options.resume and not plan.run_file.names:
        notify(f"nothing to resume for {plan.machine}/{plan.info.tag}: a new run")
    run_metadata: dict[str, str | int | float] = {
        "machine": plan.machine,
        "run_id": plan.run_id,
        "profile": plan.profile.name,
        "pyperf_settings": plan.profile.pyperf_settings,
        "load_before": load_average(),
        **run_facts_metadata(),
    }
    if plan.cpu_choice:
        run_metadata["cpu_choice"] = plan.cpu_choice
    if plan.cores_note:
        run_metadata["cores_cap_reason"] = plan.cores_note
        notify(plan.cores_note)
    skipped = skipped_backends(plan.options.backends)
    if skipped:
        run_metadata["backends_skipped"] = skipped
        notify(f"skipped backends: {skipped}")
    if plan.sides:
        return run_sides(plan, run_metadata, on_point_done)[0]
    budget_s = plan.profile.budget_s
    if budget_s:
        run_metadata["budget_s"] = budget_s
        budget_s = measuring_budget(budget_s, time.monotonic() - plan.planned_at)
    outcome = run_points(
        plan.points, plan.profile, plan.run_file, run_metadata, on_point_done,
        budget_s=budget_s,
    )  # fmt: skip
    plan.run_file.update_all({"load_after": outcome.load_after})
    return outcome


#: What the terminal summary and the report take after the measuring (docs/method.md,
#: "Profiles" has the figures), kept out of a time budget so that the command ends
#: within it, not only its measuring.
FINISH_RESERVE_S = 10.0


def measuring_budget(budget_s: float, spent_s: float) -> float:
    """The seconds the measuring may take of a command's ``budget_s``: less what the
    command spent since planning (``spent_s``) and :data:`FINISH_RESERVE_S` for its
    start-up before and its summary and report after; never below a tenth of it."""
    return max(budget_s - spent_s - FINISH_RESERVE_S, budget_s / 10)


def run_sides(
    plan: RunPlan,
    run_metadata: dict[str, str | int | float],
    on_point_done: Callable[[Point, str], None],
) -> list[RunOutcome]:
    """Measure an A/B plan's sides interleaved (gilbench.run.orchestrator.run_points_ab),
    each benchmark saying which run, side and partner it belongs to."""
    tags = [s.side.tag for s in plan.sides]
    runs = [
        SideRun(s.side, s.points, s.run_file, {
            **run_metadata, "ab_run": plan.run_id, "ab_side": s.side.label,
            "ab_partner": tags[1 - i],
        })
        for i, s in enumerate(plan.sides)
    ]  # fmt: skip
    seed = int(plan.run_id.replace("T", "").rstrip("Z")) if plan.run_id[:8].isdigit() else 0
    outcomes = run_points_ab(runs, plan.profile, on_point_done, seed=seed)
    for s, outcome in zip(plan.sides, outcomes, strict=True):
        s.run_file.update_all({"load_after": outcome.load_after})
    return outcomes
