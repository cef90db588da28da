"""One point's pyperf worker processes: their command lines, their environment, and
running them in a process group of their own with a time limit.

A point runs in its own process group with a time limit, so a hung or crashing workload
costs that point only: the group is killed and the failure raised as a PointError; the
orchestrator (gilbench.run.orchestrator) records it and goes on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyperf

from gilbench.measure.bridge import INHERITED_ENVIRON, PROGRAM_ARGS
from gilbench.measure.run_facts import HOOK_NAME
from gilbench.run.profiles import Profile
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
