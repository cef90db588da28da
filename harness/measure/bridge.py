"""The pyperf bridge: one matrix point as one pyperf benchmark.

This module is a pyperf Runner.  gilbench's orchestrator starts its *workers* directly
(``--worker`` with pyperf's worker options, gilbench.run.orchestrator.worker_command), as
pyperf's manager would, which saves a manager process per point.  Run by hand without
``--worker`` (``python -m gilbench.measure.bridge --point JSON -o FILE``), it is an
ordinary pyperf manager that spawns those workers itself.

In a worker, everything that is start-up (restricting CPU affinity, importing the
workload, creating and warming the pool) happens before pyperf's first timed call, and
each timed value is exactly one batch.  Imports stay light: no pandas, no matplotlib.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import psutil
import pyperf

from gilbench.benchmarks import get_workload
from gilbench.measure import run_facts
from gilbench.measure.backends import Backend, get_backend
from gilbench.measure.batch import Batch, enter_setup
from gilbench.measure.interpreter import InterpreterInfo, gil_enabled_now
from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION
from gilbench.vocabulary import Point

if TYPE_CHECKING:
    from gilbench.measure.latency import LatencyMeasurement

PROGRAM_ARGS = ("-m", "gilbench.measure.bridge")

# Environment variables pyperf workers must see: pyperf starts workers with a clean
# environment, and these change what is measured (rule 5 and rule 6 of DESIGN.md).
INHERITED_ENVIRON = (
    "PYTHON_GIL",
    "GILBENCH_WORKLOADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


class GilMismatchError(RuntimeError):
    """The worker's GIL state is not what the point asked for."""


def restrict_cores(cores: int) -> list[int]:
    """Pin this process to the first ``cores`` CPUs it may use; children inherit it."""
    proc = psutil.Process()
    try:
        allowed = sorted(proc.cpu_affinity() or [])
    except (AttributeError, NotImplementedError):
        return []
    if cores > len(allowed):
        raise ValueError(f"asked for {cores} cores, only {len(allowed)} are allowed: {allowed}")
    chosen = allowed[:cores]
    if chosen != allowed:
        proc.cpu_affinity(chosen)
    return chosen


def verify_gil(point: Point, info: InterpreterInfo) -> None:
    """Stop the point if the GIL is not in the state PYTHON_GIL asked for."""
    if point.gil_requested is None:
        return
    wanted = point.gil_requested == "1"
    if info.gil_enabled != wanted:
        raise GilMismatchError(
            f"PYTHON_GIL={point.gil_requested} asked for the GIL "
            f"{'enabled' if wanted else 'disabled'}, but sys._is_gil_enabled() is "
            f"{info.gil_enabled} in the worker (an extension module may have re-enabled it)"
        )


class Measurement:
    """A worker's state for one point: the workload's setup, the batch, the backend."""

    def __init__(self, point: Point) -> None:
        self.point = point
        self.workload = get_workload(point.workload)
        self._stack = contextlib.ExitStack()
        extras, self.helper_pids = enter_setup(self._stack, self.workload, point.params)
        self.batch = Batch(self.workload, dict(point.params), point.tasks, extras)
        self.backend: Backend | None = None
        #: The GIL state written into the metadata; checked again once the pool exists.
        self.gil_recorded: bool | None = None

    def _started_backend(self) -> Backend:
        if self.backend is None:
            backend = get_backend(self.point.backend)(self.point.workers, self.point.start_method)
            self._stack.callback(backend.close)
            backend.start(self.batch)
            self.backend = backend
            # Starting the pool imports more modules (and, for subinterpreters, extension
            # modules in each): a GIL re-enabled by them would make the metadata lie.
            if self.gil_recorded is not None and gil_enabled_now() != self.gil_recorded:
                raise GilMismatchError(
                    f"the GIL was {'enabled' if self.gil_recorded else 'disabled'} when the "
                    f"worker started but is {'enabled' if gil_enabled_now() else 'disabled'} "
                    f"after starting the {self.point.backend} backend (an extension module "
                    f"re-enabled it)"
                )
        return self.backend

    def time_batches(self, loops: int) -> float:
        """pyperf's time function: run ``loops`` batches, return their total wall time."""
        backend = self._started_backend()
        facts = self.workload.facts
        clock = run_facts.CpuClock(exclude=self.helper_pids)
        total = 0.0
        for _ in range(loops):
            clock.start()
            start = time.perf_counter()
            results = backend.run(self.batch)
            elapsed = time.perf_counter() - start
            cpu_used = clock.stop()
            # Outside the timed region, for every batch:
            self.batch.verify(results)
            batch_facts = facts([result for _, result in results]) if facts else None
            run_facts.record(cpu_used, elapsed, batch_facts)
            total += elapsed
        return total

    def close(self) -> None:
        """Shut the backend down, then undo the workload's setup."""
        self.backend = None
        self._stack.close()


def point_metadata(point: Point, info: InterpreterInfo) -> dict[str, Any]:
    """The coordinates and interpreter facts stored with every run of the point."""
    workload = get_workload(point.workload)
    return {
        SCHEMA_KEY: SCHEMA_VERSION,
        "workload": point.workload,
        "params": point.params_text or "-",
        "kind": workload.kind,
        "backend": point.backend,
        "start_method": point.start_method or "-",
        "workers": point.workers,
        # Schema 2: where a latency point's CPU load runs, and how many workers it has
        # (load_workers is written for latency points only).
        "load_in": point.load_in or "-",
        **({} if point.load_workers is None else {"load_workers": point.load_workers}),
        "cores": point.cores,
        "tasks": point.tasks,
        "ops_per_task": workload.ops_per_task(point.params),
        "interpreter": info.tag,
        "free_threaded": int(info.free_threaded),
        "gil_enabled": int(info.gil_enabled),
        "gil_requested": point.gil_requested or "default",
        # Read after the workload's setup, which may set it (mixed.switch_interval).
        "switch_interval": sys.getswitchinterval(),
        "blas_threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
    }


def _forward_point(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(["--point", args.point.to_json()])


def main(argv: list[str] | None = None) -> None:
    """Run one point as a pyperf benchmark (manager or worker, as pyperf decides)."""
    runner = pyperf.Runner(program_args=PROGRAM_ARGS, add_cmdline_args=_forward_point)
    runner.argparser.add_argument("--point", required=True, type=Point.from_json)
    args = runner.parse_args(argv)
    point: Point = args.point
    if args.worker:
        # Start-up, never timed: affinity before any pool exists, so pools inherit it.
        restrict_cores(point.cores)
        # Both import the workload and run its setup.
        measurement: Measurement | LatencyMeasurement
        if point.is_latency:
            # Imported here: asyncio and multiprocessing cost every other point's
            # pyperf processes start-up time for nothing.
            from gilbench.measure.latency import LatencyMeasurement

            measurement = LatencyMeasurement(point)
            time_func = measurement.time_requests
        else:
            measurement = Measurement(point)
            time_func = measurement.time_batches
        try:
            info = InterpreterInfo.current(point.gil_requested)
            verify_gil(point, info)
            measurement.gil_recorded = info.gil_enabled
            runner.bench_time_func(point.name, time_func, metadata=point_metadata(point, info))
        finally:
            measurement.close()
    else:
        runner.bench_time_func(point.name, _never_called)


def _never_called(loops: int) -> float:  # pragma: no cover - the manager never times
    raise AssertionError("the pyperf manager does not run batches")


if __name__ == "__main__":
    main()
