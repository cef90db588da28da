"""The pyperf bridge: one matrix point as one pyperf benchmark.

This module is a pyperf Runner.  gilbench's orchestrator starts its *workers* directly
(``--worker`` with pyperf's worker options, gilbench.run.workers.worker_command), as
pyperf's manager would, which saves a manager process per point.  Run by hand without
``--worker`` (``python -m gilbench.measure --point JSON -o FILE``), it is an
ordinary pyperf manager that spawns those workers itself.

In a worker, everything that is start-up (restricting CPU affinity, importing the
workload, creating and warming the pool) happens before pyperf's first timed call, and
each timed value is exactly one batch.  Imports stay light: no pandas, no matplotlib.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# isort: off
# First, so that its first look at the GIL comes before psutil's and pyperf's extension
# modules load (gilbench.measure.gil_watch).
from gilbench.measure.gil_watch import GilWatch

# isort: on
import pyperf

from gilbench.benchmarks import get_workload
from gilbench.measure import memory, pinning, run_facts
from gilbench.measure.backends import Backend, ExecutorBackend, get_backend
from gilbench.measure.backends.serial import SerialBackend
from gilbench.measure.batch import Batch, enter_setup
from gilbench.measure.interpreter import InterpreterInfo, gil_enabled_now
from gilbench.measure.machine import allowed_cpus, choose_cpus, cpu_cores
from gilbench.measure.pairs import Pairing, wants_pairs
from gilbench.measure.pinning import affinity_supported
from gilbench.measure.python_capacity import PythonHelpers
from gilbench.measure.shares import ShareClock
from gilbench.measure.tail import tail_share
from gilbench.metadata import SCHEMA_KEY, SCHEMA_VERSION
from gilbench.vocabulary import THROUGHPUT_KINDS, Point, format_cpu_list

if TYPE_CHECKING:
    from gilbench.measure.latency import LatencyMeasurement

# Workers start through gilbench.measure.__main__ (it says why).
PROGRAM_ARGS = ("-m", "gilbench.measure")

# Environment variables pyperf workers must see: pyperf starts workers with a clean
# environment, and these change what is measured (docs/design.md, rules 5 and 6).
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


def restrict_cores(cores: int, cpus: Sequence[int] = ()) -> list[int]:
    """Pin this process to the point's CPUs and check it took; pools inherit it.

    ``cpus`` are the CPUs the plan chose for the point (gilbench.run.command); a point
    without them (run by hand) gets the same choice here: one CPU per physical core
    before any hyperthread sibling, CPU 0 last (gilbench.measure.machine.choose_cpus).
    Returns the CPUs, or [] where the OS has no affinity API.
    """
    if not affinity_supported():
        return []
    allowed = allowed_cpus()
    chosen = sorted(cpus) if cpus else choose_cpus(cores, allowed, cpu_cores(allowed))
    if len(chosen) != cores:
        raise ValueError(f"a point with cores={cores} cannot run on CPUs {chosen}")
    pinning.pin(chosen)
    return chosen


def verify_gil(point: Point, info: InterpreterInfo, reenabled_by: str | None = None) -> None:
    """Stop the point if the GIL is not in the state PYTHON_GIL asked for (with PYTHON_GIL
    unset any state is a result: the worker records and tags it)."""
    if point.gil_requested is None:
        return
    wanted = point.gil_requested == "1"
    if info.gil_enabled != wanted:
        culprit = f"re-enabled by {reenabled_by}" if reenabled_by else "may have re-enabled it"
        raise GilMismatchError(
            f"PYTHON_GIL={point.gil_requested} asked for the GIL "
            f"{'enabled' if wanted else 'disabled'}, but sys._is_gil_enabled() is "
            f"{info.gil_enabled} in the worker (an extension module {culprit})"
        )


class Measurement:
    """A worker's state for one point: the workload's setup, the batch, the backend."""

    def __init__(self, point: Point) -> None:
        self.point = point
        self.workload = get_workload(point.workload)
        self._stack = contextlib.ExitStack()
        self.cpus = list(point.cpus) or sorted(pinning.thread_cpus())
        # Forked first, while no thread exists (the workload's setup may start some).
        helpers = PythonHelpers.start(self.cpus) if self.workload.kind in THROUGHPUT_KINDS \
            else PythonHelpers(self.cpus)  # fmt: skip
        self._stack.callback(helpers.close)
        extras, self.helper_pids = enter_setup(self._stack, self.workload, point.params)
        #: Processes that are not the workload's work (its setup's helpers, the capacity
        #: helpers): left out of CPU time and memory.
        self.excluded_pids = (*self.helper_pids, *helpers.pids)
        self.batch = Batch(self.workload, dict(point.params), point.tasks, extras)
        self.backend: Backend | None = None
        #: The GIL state written into the metadata; checked again once the pool exists.
        self.gil_recorded: bool | None = None
        pool = issubclass(get_backend(point.backend), ExecutorBackend)
        #: With fewer pool workers than CPUs, the CPUs they are pinned to, one each, and
        #: the others, where this thread waits for their batches.
        self.worker_cpus = pinning.worker_cpus(point.workers, self.cpus) if pool else []
        self.spare_cpus = [c for c in self.cpus if c not in self.worker_cpus] \
            if self.worker_cpus else []  # fmt: skip
        #: Workers that can run at once: what the batch's tail leaves idle (measure.tail).
        self.slots = min(point.workers, len(self.cpus) or point.workers)
        #: Serial partners for the backend's batches (gilbench.measure.pairs): a fixed
        #: sample, on the CPUs the pool's workers ran on (where the work runs in this
        #: thread, asyncio, in this thread where it is).
        self.pairing = Pairing(
            self.batch,
            wants_pairs(self.workload, point.backend),
            sample=point.serial_tasks,
            cpus=(self.worker_cpus or self.cpus) if pool else (),
            capacity_only=self.workload.kind in THROUGHPUT_KINDS,
            helpers=helpers,
        )

    def _started_backend(self) -> Backend:
        if self.backend is None:
            # Pinned again before the pool exists (pyperf's start-up pins this thread
            # too), and read back inside the pool's workers before anything is timed.
            cpus = self.cpus
            pinning.pin(cpus)
            backend = get_backend(self.point.backend)(self.point.workers, self.point.start_method)
            self._stack.callback(backend.close)
            backend.start(self.batch)
            self.backend = backend
            if isinstance(backend, SerialBackend):
                backend.rotate_over(cpus)  # the serial point: an average pinned CPU
            pinning.pin_workers(backend.worker_threads(), self.worker_cpus)
            pinning.check_workers(
                self.point.backend, backend.worker_affinities(), cpus, self.worker_cpus
            )
            # One whole batch through a pool, untimed: its start warmed each worker with
            # one task, and a first batch after that still ran slower than the next
            # (caches, the specialising interpreter, CPUs that idled: docs/method.md,
            # "Evidence behind the constants").  With two or four values a process, a
            # cold first pair was a quarter to half of the pairs behind a speedup.  Work
            # that runs in this thread (serial, asyncio) is warmed by the backend's start
            # and the serial partner.
            if isinstance(backend, ExecutorBackend):
                self.batch.verify(backend.run(self.batch))
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
        """pyperf's time function: run ``loops`` batches, return their total wall time.

        Each backend batch gets a serial partner timed back to back with it (after it,
        or just before it: gilbench.measure.pairs), and the workers' scheduler
        statistics are read around it (gilbench.measure.shares); all of that is outside
        the time returned, which is the backend's batches only.
        """
        backend = self._started_backend()
        facts = self.workload.facts
        clock = run_facts.CpuClock(exclude=self.excluded_pids)
        shares = ShareClock(backend.worker_threads())
        pairing = self.pairing
        total = partners = partner_time = 0.0
        for _ in range(loops):
            partner = pairing.before()
            # While a pool with fewer workers than CPUs runs its batch, this thread (which
            # hands out tasks and collects results, taking the GIL to do so) waits on the
            # CPUs its workers do not use: woken beside a worker on the worker's own CPU,
            # it would take that worker's CPU and GIL for every result, and a one-worker
            # pool would read a few percent slower than the same work in this thread.
            pinning.pin(self.spare_cpus)
            shares.start()
            clock.start()
            start = time.perf_counter()
            results = backend.run(self.batch)
            elapsed = time.perf_counter() - start
            spent = shares.read()
            cpu_used = clock.stop()
            pinning.pin(self.cpus if self.spare_cpus else [])
            # Outside the timed region, for every batch:
            self.batch.verify(results)
            ends = backend.finish_times
            tail = tail_share(start, ends, self.slots) if ends else math.nan
            if isinstance(backend, SerialBackend):  # the serial point's own parts
                run_facts.record_task_times(backend.take_chunk_times())
            if partner is None:
                partner, timed = pairing.after()
                partner_time += timed
            partners += partner
            batch_facts = facts([result for _, result in results]) if facts else None
            run_facts.record(cpu_used, elapsed, batch_facts)
            run_facts.record_shares(shares.stop(spent, elapsed, cpu_used))
            run_facts.record_tail(tail, elapsed)
            total += elapsed
        # Once per call (a value), after its batches: the pool is alive and holds what the
        # batches needed.  A millisecond or so a process, outside every timed region.
        reading = memory.read(exclude=self.excluded_pids)
        if reading is not None:
            run_facts.record_memory(reading.uss_mib, reading.pss_mib)
        if pairing.enabled:
            run_facts.record_pair(partners, loops, timed_s=partner_time)
        return total

    def close(self) -> None:
        """Shut the backend down, then undo the workload's setup."""
        self.backend = None
        self._stack.close()


def point_metadata(
    point: Point,
    info: InterpreterInfo,
    cpus: Sequence[int] = (),
    gil_reenabled_by: str | None = None,
    worker_cpus: Sequence[int] = (),
) -> dict[str, Any]:
    """The coordinates and interpreter facts stored with every run of the point.

    ``cpus``: the CPUs the worker and its pool's workers were found pinned to;
    ``gil_reenabled_by``: the start-up step (and extension modules) that turned the GIL
    on in a free-threaded worker with PYTHON_GIL unset (gilbench.measure.gil_watch);
    ``worker_cpus``: the CPUs a pool with fewer workers than CPUs was pinned to, one each.
    """
    workload = get_workload(point.workload)
    found = {
        **({"cpu_list": format_cpu_list(list(cpus))} if cpus else {}),
        **({"gil_reenabled_by": gil_reenabled_by} if gil_reenabled_by else {}),
        **({"worker_cpus": format_cpu_list(list(worker_cpus))} if worker_cpus else {}),
    }
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
        # Schema 4: the serial partner's fixed sample (speedups compare rates).
        "serial_tasks": point.serial_tasks or point.tasks,
        "ops_per_task": workload.ops_per_task(point.params),
        "interpreter": info.tag,
        "free_threaded": int(info.free_threaded),
        "gil_enabled": int(info.gil_enabled),
        "gil_requested": point.gil_requested or "default",
        # Read after the workload's setup, which may set it (mixed.switch_interval).
        "switch_interval": sys.getswitchinterval(),
        "blas_threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
        **found,
    }


def _forward_point(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(["--point", args.point.to_json()])


@dataclass(frozen=True)
class WorkerStart:
    """A worker ready for pyperf's first timed call: what to time, and its metadata."""

    measurement: Measurement | LatencyMeasurement
    time_func: Callable[[int], float]
    metadata: dict[str, Any]
    cpus: list[int]


def start_worker(point: Point, calls: int | None = None) -> WorkerStart:
    """Everything a worker does before pyperf's first timed call, in order, never timed.

    Pin to the point's CPUs before any pool exists (pools inherit it); import the
    workload's module and run its setup; start the pool (throughput points) and read
    its workers' affinity back.  The GIL's state is looked at after each step
    (gilbench.measure.gil_watch): a PYTHON_GIL request it does not honour stops the
    point; with PYTHON_GIL unset on a free-threaded build, a GIL that some step turned
    on is recorded (``gil_enabled`` 1, ``gil_reenabled_by``) and tagged as the GIL-on
    variant (``cpython3.14t-gil``).  On failure, whatever was started is closed.
    ``calls`` is how many times pyperf will call the time function (warmups + values),
    where known: a latency point stops its CPU load after the last.
    """
    watch = GilWatch()
    watch.step("gilbench's worker imports")
    cpus = restrict_cores(point.cores, point.cpus)
    workload = get_workload(point.workload)
    watch.step(f"importing the workload's module {workload.func.__module__}")
    # Both run the workload's setup.
    measurement: Measurement | LatencyMeasurement
    if point.is_latency:
        # Imported here: asyncio and multiprocessing cost every other point's pyperf
        # processes start-up time for nothing.
        from gilbench.measure.latency import LatencyMeasurement

        measurement = LatencyMeasurement(point, calls)
        time_func: Callable[[int], float] = measurement.time_requests
    else:
        measurement = Measurement(point)
        time_func = measurement.time_batches
    try:
        watch.step("the workload's setup")
        if isinstance(measurement, Measurement):
            # The pool now, not at the first timed call: the modules it imports may turn
            # the GIL on, and the metadata written below must say so.
            measurement._started_backend()
            watch.step(f"starting the {point.backend_label} backend")
        info = InterpreterInfo.current(point.gil_requested, as_found=True)
        found_on = watch.reenabled_by if info.free_threaded and info.gil_enabled else None
        verify_gil(point, info, found_on)
        measurement.gil_recorded = info.gil_enabled
        reenabled = found_on if point.gil_requested is None else None
        pinned_each = measurement.worker_cpus if isinstance(measurement, Measurement) else []
        metadata = point_metadata(
            point, info, cpus, gil_reenabled_by=reenabled, worker_cpus=pinned_each
        )
    except BaseException:
        measurement.close()
        raise
    return WorkerStart(measurement, time_func, metadata, cpus)


def release_held_signals() -> None:
    """Unblock SIGINT and SIGTERM in this thread (and so in what it starts later).

    gilbench's orchestrator holds them while it starts a worker, so that an interrupt
    cannot orphan it, and a signal mask survives exec: without this, the worker, its
    pools and the workloads' own children would never see either signal."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def main(argv: list[str] | None = None) -> None:
    """Run one point as a pyperf benchmark (manager or worker, as pyperf decides)."""
    release_held_signals()
    runner = pyperf.Runner(program_args=PROGRAM_ARGS, add_cmdline_args=_forward_point)
    runner.argparser.add_argument("--point", required=True, type=Point.from_json)
    args = runner.parse_args(argv)
    point: Point = args.point
    if not args.worker:
        # Run by hand: pyperf's manager passes --affinity on to the workers it starts.
        if args.affinity is None and point.cpus and affinity_supported():
            args.affinity = format_cpu_list(list(point.cpus))
        runner.bench_time_func(point.name, _never_called)
        return
    # Without calibration, pyperf calls the time function once per warmup and value.
    calibrating = any(
        getattr(args, name)
        for name in ("calibrate_loops", "recalibrate_loops", "calibrate_warmups",
                     "recalibrate_warmups")
    )  # fmt: skip
    calls = None if calibrating or args.warmups is None else args.warmups + args.values
    started = start_worker(point, calls)
    if started.cpus:
        # pyperf's worker start-up pins this thread to --affinity or, without it, to a
        # tuned host's isolated CPUs: the point's CPUs win, whatever the command line said.
        args.affinity = format_cpu_list(started.cpus)
    try:
        runner.bench_time_func(point.name, started.time_func, metadata=started.metadata)
    finally:
        started.measurement.close()


def _never_called(loops: int) -> float:  # pragma: no cover - the manager never times
    raise AssertionError("the pyperf manager does not run batches")


if __name__ == "__main__":
    main()
