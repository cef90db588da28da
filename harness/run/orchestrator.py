"""Runs a matrix: pyperf worker processes per point, results saved after each point.

Each point runs in its own process group with a time limit, so a hung or crashing
workload costs that point only: the group is killed, the failure recorded, and the run
goes on.  Completed points are already in the result file when anything goes wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyperf

from gilbench.analysis.rounds import values_by_round
from gilbench.analysis.store import (
    MACHINE_FILE,
    RunFile,
    atomic_write_text,
    failures_path,
    load_machine_facts,
)
from gilbench.benchmarks import get_workload
from gilbench.measure.bridge import INHERITED_ENVIRON, PROGRAM_ARGS
from gilbench.measure.machine import hardware_fingerprint, load_average, machine_facts
from gilbench.measure.run_facts import HOOK_NAME
from gilbench.run.profiles import Profile
from gilbench.run.settle import (
    SettleGroup,
    headline_names,
    is_paired,
    settle_groups,
    settle_need,
)
from gilbench.run.sides import Side
from gilbench.vocabulary import Point, format_cpu_list

# docs/design.md, rule 6: BLAS/OpenMP pools pinned to one thread, so a numeric library's
# own threads never blur what a backend's workers do.
PINNED_THREADS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}

FAILURE_TAIL_LINES = 6


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


# What pyperf's manager passes to its workers (pyperf._utils.create_environ): workers get
# a clean environment, so nothing in the caller's shell changes what is measured.
_WORKER_ENV_KEYS = ("PATH", "HOME", "TEMP", "PYTHONPATH", "PYTHON_CPU_COUNT", "PYTHON_GIL")


def worker_environment(side_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a pyperf worker, as pyperf's manager builds it (only PATH, HOME
    and the variables that change what is measured), with thread pools pinned.  An A/B
    run's side sets its own PYTHON_GIL (``side_env``; gilbench.run.sides)."""
    env = {k: os.environ[k] for k in (*_WORKER_ENV_KEYS, *INHERITED_ENVIRON) if k in os.environ}
    if side_env is not None:
        env.pop("PYTHON_GIL", None)
        env.update(side_env)
    env.update(PINNED_THREADS)
    return env


def worker_command(
    point: Point,
    profile: Profile,
    output: Path,
    loops: int | None,
    headline: bool = False,
    *,
    python: str = sys.executable,
) -> list[str]:
    """The command line of one pyperf worker process for ``point``, writing its run to
    ``output``; ``loops`` None asks the worker to calibrate the loops (pyperf's first,
    value-less run); a ``headline`` point gets the profile's ``headline_values``.  The
    point's CPUs go to pyperf as ``--affinity``: without it, pyperf's worker start-up
    would pin itself to a tuned host's isolated CPUs.  ``python`` runs it: another
    interpreter's environment for a side of an A/B run."""
    affinity = [f"--affinity={format_cpu_list(list(point.cpus))}"] if point.cpus else []
    return [
        python,
        *PROGRAM_ARGS,
        "--worker",
        "--worker-task=0",
        *affinity,
        *profile.worker_args(latency=point.is_latency, loops=loops, headline=headline),
        "--hook",
        HOOK_NAME,
        "--quiet",
        "--output",
        str(output),
        "--point",
        point.to_json(),
    ]


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(text: str) -> str:
    """The end of the workload's own traceback (the first one in the output), else the
    last lines."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    for start, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = start + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            return "\n".join(lines[start : end + 1][-FAILURE_TAIL_LINES:])
    return "\n".join(lines[-FAILURE_TAIL_LINES:]) or "(no output)"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a child is being started: an interrupt between
    fork and the Popen object existing would leave the child running unseen.  A held
    signal is delivered when this ends."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run_worker(
    command: list[str],
    output: Path,
    deadline: float,
    limit: float,
    side_env: dict[str, str] | None = None,
) -> pyperf.Run:
    """Run one pyperf worker process in its own process group and return its one run.

    However this ends (a result, a failure, a timeout, an interrupt), the group is
    killed: pool children a worker leaves behind never outlive it.
    """
    output.unlink(missing_ok=True)
    proc: subprocess.Popen[str] | None = None
    try:
        with _signals_held():
            proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=worker_environment(side_env),
                start_new_session=True,  # its own process group: one kill reaches children
            )
        try:
            out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            raise PointError("timed out", f"no result after {limit:g} s") from None
    finally:
        if proc is not None:
            _kill_group(proc)
    if proc.returncode != 0 or not output.exists():
        raise PointError("failed", _tail(out))
    runs = pyperf.Benchmark.load(str(output)).get_runs()
    if len(runs) != 1:
        raise PointError("failed", f"the worker wrote {len(runs)} runs instead of 1")
    return runs[0]


def measure_point(
    point: Point,
    profile: Profile,
    scratch: Path,
    loops: dict[str, int] | None = None,
    headline: bool = False,
    *,
    side: Side | None = None,
) -> pyperf.Benchmark:
    """Measure one point for one round: ``profile.processes_per_round`` pyperf worker
    processes (after a calibration process when the profile calibrates loops and
    ``loops`` does not know the point's yet), each started by us as pyperf's manager
    would, so a point costs no extra manager process.  A ``headline`` point's processes
    take the profile's ``headline_values``; the benchmark records the values asked of
    each process (``values_per_process``).

    ``loops`` maps point names to calibrated loop counts, filled in here and reused by
    later rounds.  Raises PointError on failure or when the whole round takes longer
    than ``profile.point_timeout``; the point's processes are gone either way.  A
    ``side`` of an A/B run measures with its own interpreter and PYTHON_GIL.
    """
    python = side.python if side is not None else sys.executable
    side_env = side.env if side is not None else None
    known = {} if loops is None else loops
    output = scratch / "worker.json"
    deadline = time.monotonic() + profile.point_timeout
    runs: list[pyperf.Run] = []
    fixed = 1 if point.is_latency else profile.loops
    point_loops = fixed or known.get(point.name)
    if point_loops is None:
        command = worker_command(point, profile, output, loops=None, python=python)
        calibration = _run_worker(command, output, deadline, profile.point_timeout, side_env)
        runs.append(calibration)  # kept, as pyperf keeps it: a run with warmups only
        point_loops = int(calibration.get_metadata()["calibrate_loops"])
        known[point.name] = point_loops
    command = worker_command(
        point, profile, output, loops=point_loops, headline=headline, python=python
    )
    for _ in range(profile.processes_per_round):
        runs.append(_run_worker(command, output, deadline, profile.point_timeout, side_env))
    bench = pyperf.Benchmark(runs)
    bench.update_metadata({"values_per_process": profile.values_for(point.is_latency, headline)})
    return bench


class PointError(RuntimeError):
    """A point produced no result."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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
    headline = headline_names(points, lambda name: get_workload(name).kind)
    state = _RunState(profile, run_file, run_metadata, on_point_done, headline)
    resumed: list[Point] = []
    interrupted = False
    per_round = profile.processes_per_round
    started = time.monotonic()
    deadline = started + budget_s if budget_s else None
    with tempfile.TemporaryDirectory(prefix="gilbench-") as scratch:
        state.scratch = Path(scratch)
        try:
            for round_index, point in _passes(points, profile, headline, budgeted=bool(budget_s)):
                if run_file.value_runs(point.name) >= (round_index + 1) * per_round:
                    if round_index == 0:
                        resumed.append(point)
                    on_point_done(point, "resumed")
                    continue
                if deadline is not None and not state.fits(point, deadline):
                    continue
                state.measure(point, round_index + 1, f"round {round_index + 1}/{profile.rounds}")
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
                                started=started) if budget_s else "",
    )  # fmt: skip


def _passes(
    points: Sequence[Point], profile: Profile, headline: frozenset[str], *, budgeted: bool
) -> Iterator[tuple[int, Point]]:
    """(round index, point) in the order they are measured: pass by pass over the matrix;
    with a budget, every point's first pass, then the later passes of the headline points,
    then those of the others."""
    if not budgeted:
        for round_index in range(profile.rounds):
            for point in points:
                yield round_index, point
        return
    for point in points:
        yield 0, point
    for wanted in (True, False):
        for round_index in range(1, profile.rounds):
            for point in points:
                if (point.name in headline) == wanted:
                    yield round_index, point


def budget_note(
    points: Sequence[Point],
    run_file: RunFile,
    headline: frozenset[str],
    profile: Profile,
    *,
    budget_s: float,
    started: float,
) -> str:
    """What a time budget bought: how many processes the headline points and the others
    got (of the profile's), and how long the run took."""
    per_round = profile.processes_per_round

    def rounds(names: list[str]) -> str:
        got = sorted({run_file.value_runs(n) // per_round for n in names})
        return "–" if not got else str(got[0]) if len(got) == 1 else f"{got[0]}-{got[-1]}"

    tops = [p.name for p in points if p.name in headline]
    rest = [p.name for p in points if p.name not in headline]
    took = time.monotonic() - started
    return (
        f"budget {budget_s / 60:.1f} min, took {took / 60:.1f} min: {len(tops)} headline points "
        f"got {rounds(tops)} of {profile.rounds} rounds, {len(rest)} others {rounds(rest)}"
        + ("" if min((run_file.value_runs(n) for n in tops), default=3 * per_round)
           >= 3 * per_round else "; headline points with fewer than 3 processes have no "
           "interval: give the run more time (--budget)")
    )  # fmt: skip


@dataclass(frozen=True)
class SideRun:
    """One side of an interleaved A/B run: its interpreter, its points (the same matrix
    as the other side's, point for point, with its own PYTHON_GIL) and its result file."""

    side: Side
    points: Sequence[Point]
    run_file: RunFile
    run_metadata: dict[str, str | int | float]


def run_points_ab(
    sides: Sequence[SideRun],
    profile: Profile,
    on_point_done: Callable[[Point, str], None] = lambda point, status: None,
    seed: int = 0,
) -> list[RunOutcome]:
    """Measure both sides' points interleaved: in every round, point by point, each side
    once, in an order drawn at random (``seed``) for each point, so that neither side
    always runs first after the other and both see the same minutes of the machine
    (randomised multiple interleaved trials).  Saved after each point, per side.

    No settling: it would give one side's points extra processes in minutes the other
    side did not see.  A comparison's power comes from the processes both sides got
    (``--processes``) and from pairing them round by round.
    """
    if len({len(s.points) for s in sides}) != 1:
        raise ValueError("the sides of an A/B run measure the same points")
    load_before = load_average()
    rng = random.Random(seed)
    kind = lambda name: get_workload(name).kind  # noqa: E731 - a one-line lookup
    states = [
        _RunState(profile, s.run_file, s.run_metadata, on_point_done,
                  headline_names(s.points, kind), side=s.side)
        for s in sides
    ]  # fmt: skip
    resumed: list[list[Point]] = [[] for _ in sides]
    interrupted = False
    per_round = profile.processes_per_round
    with tempfile.TemporaryDirectory(prefix="gilbench-") as scratch:
        for state in states:
            state.scratch = Path(scratch)
        try:
            for round_index in range(profile.rounds):
                status = f"round {round_index + 1}/{profile.rounds}"
                for points in zip(*(s.points for s in sides), strict=True):
                    order = list(range(len(sides)))
                    rng.shuffle(order)
                    for i in order:
                        point, state = points[i], states[i]
                        if state.run_file.value_runs(point.name) >= (round_index + 1) * per_round:
                            if round_index == 0:
                                resumed[i].append(point)
                            on_point_done(point, "resumed")
                            continue
                        state.measure(point, round_index + 1, f"{status} {sides[i].side.label}")
        except KeyboardInterrupt:
            interrupted = True
    load_after = load_average()
    return [
        RunOutcome(
            path=s.run_file.path,
            planned=len(s.points),
            measured=tuple(state.measured.values()),
            resumed=tuple(done),
            failures=tuple(state.failures),
            interrupted=interrupted,
            load_before=load_before,
            load_after=load_after,
        )
        for s, state, done in zip(sides, states, resumed, strict=True)
    ]


@dataclass
class _RunState:
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


def _settle(points: Sequence[Point], state: _RunState, deadline: float) -> None:
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
