"""Matrix expansion and point naming."""

from __future__ import annotations

from gilbench.benchmarks import get_workload
from gilbench.run.matrix import build_matrix, default_workers, powers_of_two_upto
from gilbench.run.profiles import get_profile
from gilbench.vocabulary import Point


def test_powers_of_two_always_end_at_the_limit() -> None:
    assert powers_of_two_upto(1) == [1]
    assert powers_of_two_upto(4) == [1, 2, 4]
    assert powers_of_two_upto(6) == [1, 2, 4, 6]


def test_worker_sweep_is_wider_for_io_than_for_cpu() -> None:
    quick = get_profile("quick")
    assert default_workers("cpu", 2, quick) == [1, 2, 4]
    assert default_workers("io", 2, quick) == [1, 4, 16]
    assert default_workers("io", 2, get_profile("default")) == [1, 4, 16, 64]
    assert default_workers("io", 2, get_profile("rigorous")) == [1, 2, 4, 8, 16, 32, 64, 128, 256]


def test_quick_matrix_has_the_pipeline_points_and_one_sample_per_workload() -> None:
    fib, sleep = get_workload("cpu.fib"), get_workload("io.sleep")
    points = build_matrix(
        [fib, sleep],
        ["serial", "threads", "processes", "asyncio"],
        get_profile("quick"),
        2,
        cores=[2],
    )
    # cpu.fib: serial + threads and processes at 1, 2, 4 + asyncio inline once (at 4);
    # io.sleep: serial + three backends at 1, 4, 16 workers.
    assert len(points) == (1 + 3 + 3 + 1) + (1 + 3 * 3)
    fib_asyncio = [p for p in points if p.workload == "cpu.fib" and p.backend == "asyncio"]
    assert [p.workers for p in fib_asyncio] == [4]
    assert len({p.name for p in points}) == len(points)
    for name in ("cpu.fib", "io.sleep"):
        # One serial sample per workload; every pool batch gives each worker 8 tasks.
        assert len({p.serial_tasks for p in points if p.workload == name}) == 1
        assert all(p.tasks >= 8 * p.workers for p in points if p.workload == name)
    assert {p.tasks for p in points if p.workload == "io.sleep"} == {32, 128}
    serial = [p for p in points if p.backend == "serial"]
    assert all(p.workers == 1 for p in serial)
    assert all(p.start_method for p in points if p.backend == "processes")


def test_batch_grows_with_each_points_workers() -> None:
    """Work per worker, not per batch: 64 workers get 8 tasks each (quick), not one."""
    fib = get_workload("cpu.fib")
    points = build_matrix([fib], ["threads"], get_profile("quick"), 2, cores=[2], workers=[1, 64])
    assert {p.tasks for p in points if p.backend == "threads"} == {32, 512}


def test_point_json_round_trip_and_name() -> None:
    point = Point("cpu.fib", {"n": 20}, "processes", 4, 2, 32, start_method="spawn")
    assert Point.from_json(point.to_json()) == point
    assert point.name == "cpu.fib(n=20) processes[spawn] workers=4 cores=2"


def test_rigorous_profile_runs_every_parameter_combination() -> None:
    fib = get_workload("cpu.fib")
    points = build_matrix([fib], ["serial"], get_profile("rigorous"), 1)
    assert {p.params["n"] for p in points} == set(fib.params["n"])


def test_workloads_run_only_on_the_backends_they_declare() -> None:
    probe = get_workload("probe.deadlock")
    points = build_matrix(
        [probe], ["serial", "threads", "processes", "asyncio"], get_profile("quick"), 2
    )
    assert [(p.backend, p.workers) for p in points] == [("serial", 1)]
    assert points[0].tasks == probe.tasks  # no worker to feed: the batch is not widened


def test_default_core_sweep_includes_every_power_of_two_and_all_cpus() -> None:
    from gilbench.run.matrix import cores_for, default_cores

    assert default_cores(1) == [1]
    assert default_cores(2) == [1, 2]
    assert default_cores(6) == [1, 2, 4, 6]
    quick = get_profile("quick")
    assert cores_for("cpu", quick, 2) == [1, 2]
    assert cores_for("io", quick, 2) == [2]  # quick sweeps cores only for CPU work
    default = get_profile("default")
    assert cores_for("cpu-released", default, 4) == [1, 2, 4]  # default: CPU-bound work
    assert cores_for("io", default, 4) == [4]
    assert cores_for("io", get_profile("rigorous"), 4) == [1, 2, 4]


def test_quick_profile_measures_cpu_work_on_one_and_two_cores() -> None:
    fib = get_workload("cpu.fib")
    points = build_matrix([fib], ["serial", "threads", "processes"], get_profile("quick"), 2)
    by_cores = {k: sorted((p.backend, p.workers) for p in points if p.cores == k) for k in (1, 2)}
    assert by_cores[1] == [("processes", 1), ("processes", 2), ("serial", 1), ("threads", 1),
                           ("threads", 2)]  # fmt: skip
    assert ("threads", 4) in by_cores[2]
    assert len({p.tasks for p in points}) == 1  # one batch for every core count


def test_rigorous_profile_runs_processes_once_per_start_method() -> None:
    from gilbench.measure.backends import get_backend

    fib = get_workload("cpu.fib")
    methods = get_backend("processes").start_methods()

    def processes(profile: str) -> list[Point]:
        # Serial points come with them: every slice measures its own baseline.
        points = build_matrix([fib], ["processes"], get_profile(profile), 2, cores=[2])
        return [p for p in points if p.backend == "processes"]

    rigorous, default = processes("rigorous"), processes("default")
    assert {p.start_method for p in rigorous} == set(methods)
    # The startup family compares start methods; throughput points use the default one.
    assert {p.start_method for p in default} == {methods[0]}
    assert len({p.name for p in rigorous}) == len(rigorous)  # the method is in the name


def test_throughput_points_have_no_load_and_latency_points_name_theirs() -> None:
    fib, echo = get_workload("cpu.fib"), get_workload("mixed.echo")
    points = build_matrix([fib, echo], ["threads"], get_profile("quick"), 2, cores=[2])
    throughput = [p for p in points if not p.is_latency]
    latency = [p for p in points if p.is_latency]
    assert {p.workload for p in throughput} == {"cpu.fib"}
    assert all(p.load_in is None and p.load_workers is None for p in throughput)
    assert {p.workload for p in latency} == {"mixed.echo"}
    # Quick sweeps K up to one CPU worker per core (profiles.load_per_core).
    assert [p.load_workers for p in latency] == [0, 1, 2]
    assert latency[0].name == "mixed.echo(chunk=20000,size=64) load=threads load_workers=0 cores=2"
    assert len({p.name for p in points}) == len(points)


def test_quick_measures_sync_work_at_its_widest_worker_count_beside_serial() -> None:
    lock = get_workload("sync.lock")
    quick = build_matrix([lock], ["serial", "threads"], get_profile("quick"), 2)
    assert sorted((p.backend, p.workers) for p in quick) == [("serial", 1), ("threads", 4)]
    default = build_matrix([lock], ["serial", "threads"], get_profile("default"), 2)
    assert sorted(p.workers for p in default if p.backend == "threads" and p.cores == 2) == [
        1, 2, 4
    ]  # fmt: skip
    # Workers asked for on the command line are measured as asked.
    asked = build_matrix([lock], ["threads"], get_profile("quick"), 2, workers=[1, 2])
    assert sorted(p.workers for p in asked if p.backend == "threads") == [1, 2]
