"""Matrix points: the coordinates of one measurement, and the sweep that lists them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gilbench.benchmarks import ParamValue, Workload
from gilbench.measure.backends import Backend, get_backend
from gilbench.run.profiles import Profile
from gilbench.vocabulary import LATENCY_KIND, THROUGHPUT_KINDS, Point, load_place

# Kinds whose work needs a core to progress (or, for sync, whose contention needs a
# running thread): their worker sweep stops at 2 x cores.
CORE_BOUND_KINDS = frozenset({"cpu", "cpu-released", "mixed", "sync"})


def powers_of_two_upto(limit: int, base: int = 2) -> list[int]:
    """1, 2, 4, ... (powers of ``base``) up to ``limit``, always ending with ``limit``."""
    values = []
    value = 1
    while value < limit:
        values.append(value)
        value *= base
    values.append(limit)
    return values


def default_workers(kind: str, cores: int, profile: Profile) -> list[int]:
    """The worker sweep for a kind: to 2 x cores for core-bound work, wider for waiting work."""
    if kind in CORE_BOUND_KINDS:
        return powers_of_two_upto(2 * cores)
    return powers_of_two_upto(max(profile.io_max_workers, 2 * cores), profile.io_worker_step)


def default_cores(available: int) -> list[int]:
    """The core sweep: 1, 2, 4, ... and always every available CPU."""
    return powers_of_two_upto(available)


def cores_for(kind: str, profile: Profile, available: int) -> list[int]:
    """The core counts a workload of ``kind`` is measured at under ``profile``."""
    if kind == LATENCY_KIND and not profile.latency_core_sweep:
        return [available]
    sweep = profile.core_sweep_kinds
    if sweep is None or kind in sweep:
        return default_cores(available)
    return [available]


def _worker_counts(
    wl: Workload, cores: int, profile: Profile, workers: Sequence[int] | None
) -> list[int]:
    """A throughput workload's worker sweep at ``cores``: ``workers`` if given, else the
    profile's (only its widest count for the profile's ``widest_only_kinds``; one worker
    per core for a workload that sweeps its parameters, whose curve is against them)."""
    if workers:
        counts = sorted({w for w in workers if w >= 1})
        if not counts:
            raise ValueError(
                f"{wl.name}: workers=0 (a responder alone) applies only to mixed workloads"
            )
        return counts
    if wl.sweep_params:
        return [cores]
    counts = default_workers(wl.kind, cores, profile)
    return [max(counts)] if wl.kind in profile.widest_only_kinds else counts


def _variants(backend: type[Backend], profile: Profile) -> tuple[str | None, ...]:
    """The start methods a backend is measured with."""
    if profile.all_start_methods:
        return backend.start_methods()
    return (backend.default_start_method(),)


def with_serial_baseline(wl: Workload, runs_on: list[type[Backend]]) -> list[type[Backend]]:
    """``runs_on`` with serial first where a throughput workload's selection lacks it: a
    speedup divides a serial point of the same run (gilbench.analysis.baselines), so a
    slice such as ``--backend threads`` measures its own baselines rather than borrowing
    another run's (or having none)."""
    names = {b.name for b in runs_on}
    if not runs_on or "serial" in names or wl.kind not in THROUGHPUT_KINDS:
        return runs_on
    if not wl.runs_on("serial"):
        return runs_on
    return [get_backend("serial"), *runs_on]


def _backend_counts(backend: type[Backend], wl: Workload, sweep: list[int]) -> list[int]:
    """The worker counts a backend is measured at for a workload."""
    if backend.single_worker:
        return [1]
    if backend.name == "asyncio" and wl.async_func is None:
        # Inline on the loop, the worker count changes nothing: one point shows it.
        return [max(sweep)]
    return sweep


def swept_subset(
    wl: Workload, grids: list[Mapping[str, ParamValue]], profile: Profile
) -> list[Mapping[str, ParamValue]]:
    """The combinations of a workload that sweeps its parameters which ``profile``
    measures: each parameter at its first ``profile.swept_values`` values (a latency
    workload's) or ``profile.swept_throughput_values`` (a throughput workload's) in the
    order the workload declares them.  Anything else (one combination, named on the
    command line, or a workload that does not sweep) is measured as given."""
    limit = profile.swept_values if wl.is_latency else profile.swept_throughput_values
    if limit is None or not wl.sweep_params or len(grids) <= 1:
        return grids
    return [
        params for params in grids
        if all(name not in wl.params or value not in wl.params[name][limit:]
               for name, value in params.items())
    ]  # fmt: skip


def _latency_points(
    wl: Workload,
    runs_on: Sequence[type[Backend]],
    grids: Iterable[Mapping[str, ParamValue]],
    core_counts: Sequence[int],
    *,
    profile: Profile,
    load_workers: Sequence[int] | None,
    gil_requested: str | None,
) -> list[Point]:
    """A responder's points: at each core count, beside K CPU workers (``load_workers``
    if given, else 0 .. 2 x cores; 0 is the responder alone, the baseline every other K
    is read against) in every place its load runs (see gilbench.measure.load)."""
    # Imported here: pyperf workers import this module, and the load machinery (asyncio,
    # multiprocessing) would cost every throughput worker start-up time.
    from gilbench.measure.load import load_counts, load_variants

    points: list[Point] = []
    for params in swept_subset(wl, list(grids), profile):
        for k in core_counts:
            if wl.load_workers == "cores":
                counts = [k]
            elif load_workers:
                counts = sorted(set(load_workers))
            else:
                counts = load_counts(k, profile.dense_load_sweep, profile.load_per_core)
            for backend in runs_on:
                for variant in load_variants(backend.name):
                    place = load_place(backend.name, variant)
                    points.extend(
                        Point.latency(wl.name, params, place, count, k, gil_requested=gil_requested)
                        for count in counts
                    )
    return points


def batch_tasks(base: int, workers: int, per_worker: int, single_worker: bool) -> int:
    """A point's batch: ``base`` tasks (the workload's, or ``--tasks``) for a backend that
    runs one task at a time, else at least ``per_worker`` tasks for each of ``workers``.

    A batch fixed per workload gives each of 16 workers two tasks and each of 64 none
    to spare: the workers idle while the last tasks finish (the tail) then decide the
    speedup, whatever the work.  Enough tasks per worker keep that share small at any
    worker count (docs/method.md, "Tasks per worker"); the serial partner times ``base``
    tasks and speedups compare rates (tasks per second) of identical tasks."""
    if single_worker:
        return base
    return max(base, per_worker * workers)


def build_matrix(
    workloads: Sequence[Workload],
    backends: Sequence[str],
    profile: Profile,
    available_cores: int,
    *,
    cores: Sequence[int] | None = None,
    workers: Sequence[int] | None = None,
    param_overrides: Mapping[str, Mapping[str, str]] | None = None,
    tasks: int | None = None,
    tasks_per_worker: int | None = None,
    gil_requested: str | None = None,
) -> list[Point]:
    """Every point to measure, in a stable order (workload, params, cores, backend, workers).

    Work per worker, not per batch: a serial point's batch is ``tasks`` (else the
    workload's own), a throughput pool point's at least ``tasks_per_worker`` (else the
    profile's) tasks per worker (:func:`batch_tasks`), and its serial partner times the
    serial batch (``Point.serial_tasks``).
    Latency (mixed) points time one request per value; for them ``workers`` are the
    counts of CPU workers beside the responder (their ``load_workers``), see
    :func:`_latency_points`.  A throughput workload whose ``backends`` lack serial gets
    its serial points anyway, at every core count it is measured at
    (:func:`with_serial_baseline`).
    """
    points: list[Point] = []
    overrides = param_overrides or {}
    for wl in workloads:
        runs_on = [get_backend(name) for name in backends if wl.runs_on(name)]
        if wl.name in overrides:
            grids: Iterable[Mapping[str, ParamValue]] = [wl.coerce_params(overrides[wl.name])]
        elif wl.sweep_params:
            grids = swept_subset(wl, list(wl.param_grid()), profile)
        elif profile.all_params:
            grids = wl.param_grid()
        else:
            grids = [wl.default_params]
        core_counts = list(cores) if cores else cores_for(wl.kind, profile, available_cores)
        if wl.sweep_params and not wl.is_latency and not cores:
            core_counts = [available_cores]  # its curve is against its parameters
        if wl.is_latency:
            points += _latency_points(
                wl,
                runs_on,
                grids,
                core_counts,
                profile=profile,
                load_workers=workers,
                gil_requested=gil_requested,
            )
            continue
        runs_on = with_serial_baseline(wl, runs_on)
        sweeps = {k: _worker_counts(wl, k, profile, workers) for k in core_counts}
        base = tasks if tasks is not None else wl.tasks
        per_worker = tasks_per_worker if tasks_per_worker is not None else profile.tasks_per_worker
        for params in grids:
            for k in core_counts:
                for backend in runs_on:
                    # Probes count events per batch (lost updates, deadlocks): their
                    # batch stays the workload's.
                    single_batch = backend.single_worker or wl.kind not in THROUGHPUT_KINDS
                    for method in _variants(backend, profile):
                        for count in _backend_counts(backend, wl, sweeps[k]):
                            points.append(
                                Point(
                                    workload=wl.name,
                                    params=dict(params),
                                    backend=backend.name,
                                    workers=count,
                                    cores=k,
                                    tasks=batch_tasks(base, count, per_worker, single_batch),
                                    start_method=method,
                                    gil_requested=gil_requested,
                                    serial_tasks=base,
                                )
                            )
    return points
