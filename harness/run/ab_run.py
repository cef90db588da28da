"""Interleaved A/B runs: two interpreters' points measured alternately, point by point
and round by round in a random order (gilbench.run.sides says how a side is named and
prepared)."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gilbench.analysis.store import RunFile
from gilbench.benchmarks import get_workload
from gilbench.measure.machine import load_average
from gilbench.run.orchestrator import RunOutcome, RunState
from gilbench.run.profiles import Profile
from gilbench.run.settle import headline_names
from gilbench.run.sides import Side
from gilbench.vocabulary import Point


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
        RunState(profile, s.run_file, s.run_metadata, on_point_done,
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
