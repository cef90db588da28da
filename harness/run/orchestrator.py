"""Runs a matrix: rounds over its points, settling, a time budget; results saved after
each point.

Each point's pyperf worker processes run in a process group of their own with a time
limit (gilbench.run.workers), so a hung or crashing workload costs that point only: the
failure is recorded and the run goes on.  Completed points are already in the result
file when anything goes wrong.  Interleaved A/B runs: gilbench.run.ab_run.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gilbench.analysis.rounds import values_by_round
from gilbench.analysis.store import (
    MACHINE_FILE,
    RunFile,
    atomic_write_text,
    failures_path,
    load_machine_facts,
)
from gilbench.benchmarks import get_workload
from gilbench.measure.machine import hardware_fingerprint, load_average, machine_facts
from gilbench.run.profiles import Profile
from gilbench.run.settle import (
    SettleGroup,
    beyond_physics,
    headline_names,
    is_paired,
    reference_names,
    settle_groups,
    settle_need,
)
from gilbench.run.sides import Side
from gilbench.run.workers import PointError, measure_point
from gilbench.vocabulary import Point


@dataclass(frozen=True)
class PointFailure:
    """A point that produced no result, and why."""

    point: Point
    reason: str  # "failed" or "timed out"
    detail: str


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: read by the command line, the chaos scenario and the
    self-benchmark alike (never parsed back from printed text)."""

    path: Path  # the result file (it may not exist if nothing was measured)
    planned: int  # points in the plan
    measured: tuple[Point, ...] = ()  # points measured (at least one round) by this run
    resumed: tuple[Point, ...] = ()  # points already complete in the file (--resume)
    failures: tuple[PointFailure, ...] = ()
    interrupted: bool = False
    load_before: float = 0.0
    load_after: float = 0.0
    #: With a time budget, what it bought (processes per point, settling); "" without.
    budget_note: str = ""

    @property
    def failures_path(self) -> Path:
        """The sidecar listing the failed points (present only when some failed)."""
        return failures_path(self.path)

    def summary(self) -> str:
        """``measured 3, resumed 0, failed 1 of 4 points; load average ...``."""
        return (
            f"measured {len(self.measured)}, resumed {len(self.resumed)}, "
            f"failed {len(self.failures)} of {self.planned} points; "
            f"load average {self.load_before:.2f} before, {self.load_after:.2f} after"
        )


def write_machine_facts(machine_dir: Path, name: str) -> str | None:
    """Write machine.json; return a warning if a different machine used this name before."""
    facts = machine_facts(name)
    path = machine_dir / MACHINE_FILE
    old = load_machine_facts(path)
    warning = None
    if old and hardware_fingerprint(old) != hardware_fingerprint(facts):
        warning = (
            f"machine name {name!r} was used before for different hardware "
            f"({old.get('cpu_model')}, {old.get('logical_cpus')} CPUs); "
            f"use --machine to give this machine its own name"
        )
        facts["previous_hardware"] = {
            k: old.get(k) for k in ("cpu_model", "logical_cpus", "memory_bytes")
        }
    atomic_write_text(path, json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return warning


def run_points(
    points: Sequence[Point],
    profile: Profile,
    run_file: RunFile,
    run_metadata: dict[str, str | int | float],
    on_point_done: Callable[[Point, str], None] = lambda point, status: None,
    *,
    budget_s: float | None = None,
) -> RunOutcome:
    """Measure every point in ``profile.rounds`` interleaved passes, then settle the
    headline speedups (``gilbench.run.settle``); save after each point.

    With a time budget (``budget_s``), the first pass measures every point once; the
    later passes go to the headline points first (the verdicts and the decision rest on
    them, and an interval needs three processes), then to the others, then to settling,
    each point only while its first pass's time still fits (:func:`_budgeted_rounds`).

    Each pass gives every point ``profile.processes_per_round`` pyperf processes, so a
    point's values come from moments minutes apart: a machine that drifts (a neighbour's
    load, thermal throttling) shifts every point alike instead of favouring whichever
    backend ran in a quiet minute (asv's "rounds").  Runs already in the file count, so
    ``--resume`` measures only what is missing.
    """
    load_before = load_average()
    kind_of = lambda name: get_workload(name).kind  # noqa: E731
    references = reference_names(points, kind_of)
    # The reference's own check rides with the headline points (values, budget).
    headline = headline_names(points, kind_of) | references
    state = RunState(profile, run_file, run_metadata, on_point_done, headline)
    resumed: list[Point] = []
    interrupted = False
    per_round = profile.processes_per_round
    started = time.monotonic()
    deadline = started + budget_s if budget_s else None
    with tempfile.TemporaryDirectory(prefix="gilbench-") as scratch:
        state.scratch = Path(scratch)
        try:
            stage = "first pass"
            for round_index, point in _passes(
                points, profile, headline, budgeted=bool(budget_s), first=references
            ):
                now = _stage(round_index, point.name in headline, budgeted=bool(budget_s))
                if now != stage:
                    # Every point measured once, then (with a budget) the headline
                    # points' rounds done: a number that breaks physics is measured
                    # again before the time goes to anything less important.
                    stage = now
                    _recheck(points, state, deadline)
                if run_file.value_runs(point.name) >= (round_index + 1) * per_round:
                    if round_index == 0:
                        resumed.append(point)
                    # A round this run already gave it (a recheck) is not a resumed one.
                    early = round_index > 0 and point.name in state.measured
                    on_point_done(point, "measured already" if early else "resumed")
                    continue
                if deadline is not None and not state.fits(point, deadline):
                    continue
                state.measure(point, round_index + 1, f"round {round_index + 1}/{profile.rounds}")
            _recheck(points, state, deadline)
            settle_until = time.monotonic() + profile.settle_share * (time.monotonic() - started)
            _settle(points, state, min(settle_until, deadline or settle_until))
        except KeyboardInterrupt:
            interrupted = True
    return RunOutcome(
        path=run_file.path,
        planned=len(points),
        measured=tuple(state.measured.values()),
        resumed=tuple(resumed),
        failures=tuple(state.failures),
        interrupted=interrupted,
        load_before=load_before,
        load_after=load_average(),
        budget_note=budget_note(points, run_file, headline, profile, budget_s=budget_s,
                                started=started, references=references) if budget_s else "",
    )  # fmt: skip


def _passes(
    points: Sequence[Point],
    profile: Profile,
    headline: frozenset[str],
    *,
    budgeted: bool,
    first: frozenset[str] = frozenset(),
) -> Iterator[tuple[int, Point]]:
    """(round index, point) in the order they are measured: pass by pass over the matrix;
    with a budget, every point's first pass, then the later passes of the points in
    ``first`` (the reference's one-worker checks: few, and what every speedup rests on),
    then of the headline points (workload by workload, :func:`_by_workload`), then of
    the others."""
    if not budgeted:
        for round_index in range(profile.rounds):
            for point in points:
                yield round_index, point
        return
    for point in points:
        yield 0, point
    # The headline points' later rounds workload by workload, the families taking turns:
    # a decision needs every backend of its workload with an interval, so a budget that
    # runs out answers for as many workloads as it can rather than for none.
    checks = [p for p in points if p.name in first]
    for group in [checks, *_by_workload([p for p in points if p.name in headline - first])]:
        for round_index in range(1, profile.rounds):
            for point in group:
                yield round_index, point
    for round_index in range(1, profile.rounds):
        for point in points:
            if point.name not in headline:
                yield round_index, point


def _stage(round_index: int, headline: bool, *, budgeted: bool) -> str:
    """Which part of :func:`_passes` a (round, point) belongs to: the first pass, the
    later rounds, and with a budget the later rounds of the points that are not
    headline ones (what a budget spends last)."""
    if round_index == 0:
        return "first pass"
    return "the others' later rounds" if budgeted and not headline else "later rounds"


def _by_workload(points: Sequence[Point]) -> list[list[Point]]:
    """``points`` grouped by workload, the groups ordered so that families take turns
    (each family's first workload, then each one's second, ...)."""
    groups: dict[str, list[Point]] = {}
    for point in points:
        groups.setdefault(point.workload, []).append(point)
    families: dict[str, list[str]] = {}
    for name in groups:
        families.setdefault(name.split(".", 1)[0], []).append(name)
    turns = sorted(
        (rank, family) for family, names in families.items() for rank in range(len(names))
    )
    return [groups[families[family][rank]] for rank, family in turns]


def budget_note(
    points: Sequence[Point],
    run_file: RunFile,
    headline: frozenset[str],
    profile: Profile,
    *,
    budget_s: float,
    started: float,
    references: frozenset[str] = frozenset(),
) -> str:
    """What a time budget bought: how many processes the headline points, the one-worker
    reference checks among ``headline`` (``references``) and the others got (of the
    profile's), and how long the run took."""
    per_round = profile.processes_per_round

    def rounds(names: list[str]) -> str:
        got = sorted({run_file.value_runs(n) // per_round for n in names})
        return "–" if not got else str(got[0]) if len(got) == 1 else f"{got[0]}-{got[-1]}"

    tops = [p.name for p in points if p.name in headline and p.name not in references]
    refs = [p.name for p in points if p.name in references]
    rest = [p.name for p in points if p.name not in headline]
    missing = sum(1 for p in points if run_file.value_runs(p.name) == 0)
    took = time.monotonic() - started
    return (
        f"measuring budget {budget_s / 60:.1f} min, took {took / 60:.1f} min: {len(tops)} "
        f"headline points got {rounds(tops)} of {profile.rounds} rounds, "
        + (f"{len(refs)} one-worker points {rounds(refs)}, " if refs else "")
        + f"{len(rest)} others {rounds(rest)}"
        + ("" if min((run_file.value_runs(n) for n in tops), default=3 * per_round)
           >= 3 * per_round else "; headline points with fewer than 3 processes have no "
           "interval: give the run more time (--budget)")
        + (f"; {missing} point{'s' * (missing != 1)} not measured at all: --resume measures "
           "them" if missing else "")
    )  # fmt: skip


@dataclass
class RunState:
    """What measuring one point needs to know and update, for rounds and settling alike."""

    profile: Profile
    run_file: RunFile
    run_metadata: dict[str, str | int | float]
    on_point_done: Callable[[Point, str], None]
    headline: frozenset[str] = frozenset()  # names of the points given headline_values
    scratch: Path = Path()
    failed: set[str] = field(default_factory=set)
    failures: list[PointFailure] = field(default_factory=list)
    measured: dict[str, Point] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)
    side: Side | None = None  # a side of an A/B run: its interpreter measures
    #: Seconds each point's first measured round took (what a budget plans with).
    took: dict[str, float] = field(default_factory=dict)

    def fits(self, point: Point, deadline: float) -> bool:
        """Whether another round of ``point`` ends before ``deadline``, judged by its first."""
        return time.monotonic() + self.took.get(point.name, 0.0) <= deadline

    def measure(self, point: Point, round_number: int, status: str) -> bool:
        """Measure ``point`` for one round and save it; False if it failed (now or before)."""
        begun = time.monotonic()
        try:
            return self._measure(point, round_number, status)
        finally:
            self.took.setdefault(point.name, time.monotonic() - begun)

    def _measure(self, point: Point, round_number: int, status: str) -> bool:
        if point.name in self.failed:
            self.on_point_done(point, "skipped (failed before)")
            return False
        try:
            bench = measure_point(
                point,
                self.profile,
                self.scratch,
                self.loops,
                point.name in self.headline,
                side=self.side,
            )
        except PointError as exc:
            self.failed.add(point.name)
            self.failures.append(PointFailure(point, exc.reason, exc.detail))
            self.run_file.record_failure(point.name, exc.reason, exc.detail)
            self.on_point_done(point, exc.reason)
            return False
        bench.update_metadata({**self.run_metadata, "round": round_number})
        self.run_file.add(bench)
        self.run_file.clear_failure(point.name)
        self.measured[point.name] = point
        self.on_point_done(point, status)
        return True


def _recheck(points: Sequence[Point], state: RunState, deadline: float | None) -> None:
    """One more round at a time for the points whose speedup breaks physics
    (gilbench.run.settle.beyond_physics), the furthest beyond first, until it no longer
    does or the point has the profile's rounds and extra rounds, or ``deadline`` comes.

    A round given here is the point's next round measured early: the later passes skip
    it as done, so a rechecked point costs nothing twice."""
    profile = state.profile
    per_round = max(1, profile.processes_per_round)
    most = profile.rounds + profile.settle_rounds
    kind_of = lambda name: get_workload(name).kind  # noqa: E731
    while True:
        todo = [
            point
            for point in beyond_physics(points, state.run_file.benchmark, kind_of)
            if point.name not in state.failed
            and state.run_file.value_runs(point.name) // per_round < most
        ]
        if not todo:
            return
        for point in todo:
            if deadline is not None and not state.fits(point, deadline):
                return
            round_number = state.run_file.value_runs(point.name) // per_round + 1
            state.measure(point, round_number, "recheck (beyond physics)")


def _settle(points: Sequence[Point], state: RunState, deadline: float) -> None:
    """Extra rounds for the headline points that are not settled
    (gilbench.run.settle.unsettled), the worst first, until they are, the profile's
    extra rounds are spent (counting those of an interrupted run), or the time share is.

    A point with pairs gets one more process of its own; an older point without them,
    the serial baseline then the point, back to back."""
    profile = state.profile
    last_round = profile.rounds + profile.settle_rounds
    groups = settle_groups(points, lambda name: get_workload(name).kind)
    bench = state.run_file.benchmark
    while True:
        todo: list[tuple[float, Point, SettleGroup | None, int]] = []
        for group in groups:
            if group.baseline.name in state.failed or bench(group.baseline.name) is None:
                continue
            need = settle_need(group, bench, profile.settle_tolerance, profile.sway_tolerance)
            for point, how_far in need.items():
                if how_far <= 1 or point.name in state.failed:
                    continue
                own = bench(point.name)
                if is_paired(own):
                    assert own is not None  # is_paired says so
                    todo.append((how_far, point, None, max(values_by_round(own)) + 1))
                else:
                    baseline = bench(group.baseline.name)
                    assert baseline is not None
                    todo.append((how_far, point, group, max(values_by_round(baseline)) + 1))
        todo = [item for item in todo if item[3] <= last_round]
        if not todo:
            return
        todo.sort(key=lambda item: -item[0])
        done: set[tuple[str, int]] = set()  # baselines measured in this pass
        for _, point, unpaired, round_number in todo:
            if not state.fits(point, deadline):
                return
            status = f"settling {round_number - profile.rounds}/{profile.settle_rounds}"
            if unpaired is not None and (unpaired.baseline.name, round_number) not in done:
                if not state.measure(unpaired.baseline, round_number, status):
                    continue
                done.add((unpaired.baseline.name, round_number))
            state.measure(point, round_number, status)
