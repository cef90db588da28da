"""Runs a matrix: one pyperf manager subprocess per point, results saved after each point.

Each point runs in its own process group with a time limit, so a hung or crashing
workload costs that point only: the group is killed, the failure recorded, and the run
goes on.  Completed points are already in the result file when anything goes wrong.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyperf

from benchmarks import get_workload
from harness.machine import hardware_fingerprint, load_average, machine_facts
from harness.matrix import Point
from harness.profiles import Profile
from harness.pyperf_bridge import INHERITED_ENVIRON, PROGRAM_ARGS
from harness.run_facts import HOOK_NAME
from harness.store import MACHINE_FILE, RunFile, atomic_write_text, load_machine_facts

# Rule 6 of DESIGN.md: BLAS/OpenMP pools pinned to one thread, so a numeric library's
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


@dataclass
class RunOutcome:
    """What a run did."""

    path: Path
    measured: list[Point] = field(default_factory=list)
    resumed: list[Point] = field(default_factory=list)
    failures: list[PointFailure] = field(default_factory=list)
    interrupted: bool = False
    load_before: float = 0.0
    load_after: float = 0.0


def worker_environment() -> dict[str, str]:
    """The environment for pyperf managers and workers: ours, with thread pools pinned."""
    env = dict(os.environ)
    env.update(PINNED_THREADS)
    return env


def bridge_command(point: Point, profile: Profile, output: Path) -> list[str]:
    """The pyperf manager command line for one point."""
    return [
        sys.executable,
        *PROGRAM_ARGS,
        "--point",
        point.to_json(),
        *profile.pyperf_args(latency=get_workload(point.workload).is_latency),
        "--hook",
        HOOK_NAME,
        "--inherit-environ",
        ",".join(INHERITED_ENVIRON),
        # pyperf's own per-worker limit is a backstop: ours, on the whole point, comes
        # first, so a hung point is always reported as timed out with our limit.
        "--timeout",
        str(math.ceil(profile.point_timeout) + 5),
        "--quiet",
        "--output",
        str(output),
    ]


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(text: str) -> str:
    """The end of the workload's own traceback: the first one in the output (pyperf's
    manager prints its own, about the worker's exit code, after it), else the last lines."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    for start, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = start + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            return "\n".join(lines[start : end + 1][-FAILURE_TAIL_LINES:])
    return "\n".join(lines[-FAILURE_TAIL_LINES:]) or "(no output)"


def measure_point(point: Point, profile: Profile, scratch: Path) -> pyperf.Benchmark:
    """Run one point under pyperf and return its benchmark.

    Raises PointError on failure or timeout; the point's processes are gone either way.
    """
    output = scratch / "point.json"
    output.unlink(missing_ok=True)
    proc = subprocess.Popen(
        bridge_command(point, profile, output),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=worker_environment(),
        start_new_session=True,  # its own process group: one kill reaches pool children
    )
    try:
        out, _ = proc.communicate(timeout=profile.point_timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise PointError("timed out", f"no result after {profile.point_timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0 or not output.exists():
        raise PointError("failed", _tail(out))
    bench: pyperf.Benchmark = pyperf.Benchmark.load(str(output))
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
) -> RunOutcome:
    """Measure every point in ``profile.rounds`` interleaved passes; save after each one.

    Each pass gives every point ``profile.processes_per_round`` pyperf processes, so a
    point's values come from moments minutes apart: a machine that drifts (a neighbour's
    load, thermal throttling) shifts every point alike instead of favouring whichever
    backend ran in a quiet minute (asv's "rounds").  Runs already in the file count, so
    ``--resume`` measures only what is missing.
    """
    outcome = RunOutcome(path=run_file.path, load_before=load_average())
    failed: set[str] = set()
    measured: dict[str, Point] = {}
    per_round = profile.processes_per_round
    with tempfile.TemporaryDirectory(prefix="gilbench-") as scratch:
        try:
            for round_index in range(profile.rounds):
                for point in points:
                    if point.name in failed:
                        on_point_done(point, "skipped (failed before)")
                        continue
                    if run_file.value_runs(point.name) >= (round_index + 1) * per_round:
                        if round_index == 0:
                            outcome.resumed.append(point)
                        on_point_done(point, "resumed")
                        continue
                    try:
                        bench = measure_point(point, profile, Path(scratch))
                    except PointError as exc:
                        failed.add(point.name)
                        outcome.failures.append(PointFailure(point, exc.reason, exc.detail))
                        run_file.record_failure(point.name, exc.reason, exc.detail)
                        on_point_done(point, exc.reason)
                        continue
                    bench.update_metadata({**run_metadata, "round": round_index + 1})
                    run_file.add(bench)
                    run_file.clear_failure(point.name)
                    measured[point.name] = point
                    on_point_done(point, f"round {round_index + 1}/{profile.rounds}")
        except KeyboardInterrupt:
            outcome.interrupted = True
    outcome.measured = list(measured.values())
    outcome.load_after = load_average()
    return outcome
