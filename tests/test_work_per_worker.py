"""Right at every core count (issue 23): work per worker, a serial reference on the CPUs
the backend used, intervals shown whole, a verdict without holes, a batch model."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from helpers import with_units

from gilbench.analysis import intervals
from gilbench.analysis.intervals import process_t_interval
from gilbench.analysis.verdict import TAIL_BOUND, TOO_FEW_WORKERS, judge, plateau
from gilbench.benchmarks import get_workload
from gilbench.measure import pinning
from gilbench.measure.backends.serial import SerialBackend, spread
from gilbench.measure.batch import Batch
from gilbench.measure.pairs import Pairing
from gilbench.measure.tail import tail_share
from gilbench.run.batch_model import schedule, simulate
from gilbench.run.matrix import batch_tasks, build_matrix
from gilbench.run.profiles import PROFILES, get_profile

# -- batches: tasks per worker ---------------------------------------------------------


def test_a_pool_batch_grows_with_its_workers_and_serial_keeps_the_sample() -> None:
    assert batch_tasks(32, 1, 8, single_worker=False) == 32
    assert batch_tasks(32, 16, 8, single_worker=False) == 128
    assert batch_tasks(32, 128, 8, single_worker=False) == 1024
    assert batch_tasks(32, 128, 8, single_worker=True) == 32


def test_the_profiles_ask_more_tasks_per_worker_the_longer_they_measure() -> None:
    per_worker = [PROFILES[name].tasks_per_worker for name in ("quick", "default", "rigorous")]
    assert per_worker == [8, 16, 32]
    assert "tasks_per_worker=16" in PROFILES["default"].pyperf_settings


def test_on_sixteen_cores_every_pool_point_gives_each_worker_eight_tasks() -> None:
    points = build_matrix([get_workload("cpu.fib")], ["serial", "threads", "processes"],
                          get_profile("quick"), 16)  # fmt: skip
    pools = [p for p in points if p.backend != "serial"]
    assert pools
    assert all(p.tasks >= 8 * p.workers for p in pools)
    assert {p.tasks for p in points if p.backend == "serial"} == {32}
    assert {p.serial_tasks for p in points} == {32}
    assert max(p.tasks for p in pools) == 8 * 32  # 32 workers (2 x 16 cores)


def test_tasks_sets_the_sample_and_tasks_per_worker_the_pools() -> None:
    points = build_matrix([get_workload("cpu.fib")], ["serial", "processes"],
                          get_profile("quick"), 2, cores=[2], tasks=4,
                          tasks_per_worker=16)  # fmt: skip
    by = {(p.backend, p.workers): p for p in points}
    assert by["serial", 1].tasks == 4
    assert by["processes", 2].tasks == 32
    assert by["processes", 2].serial_tasks == 4


def test_only_throughput_work_grows_its_batch() -> None:
    """Probes count events per batch (lost updates, deadlocks): only throughput kinds'
    pool batches grow with their workers."""
    assert batch_tasks(4, 16, 8, single_worker=True) == 4
    points = build_matrix([get_workload("probe.counter_plain")], ["serial"],
                          get_profile("quick"), 2)  # fmt: skip
    assert {p.tasks for p in points} == {get_workload("probe.counter_plain").tasks}


# -- the tail ---------------------------------------------------------------------------


def test_the_tail_share_reference_values() -> None:
    assert tail_share(0.0, [1.0, 1.0], 2) == 0.0
    assert tail_share(0.0, [1.0, 2.0], 2) == pytest.approx(0.25)  # 1 idle of 2 x 2
    assert tail_share(0.0, [1.0], 2) == pytest.approx(0.5)  # one task for two workers
    # Four tasks of 1, 1, 1, 2 on two workers: the last two finishes are 2 and 3.
    assert tail_share(0.0, [1.0, 1.0, 2.0, 3.0], 2) == pytest.approx(1 / 6)
    assert math.isnan(tail_share(0.0, [], 2))


def test_the_model_and_the_measured_tail_agree_on_a_schedule() -> None:
    times = [1.0, 2.0, 1.5, 0.5, 1.0]
    span, idle = schedule(times, 2)
    starts_ends = [1.0, 2.0, 2.5, 2.5, 3.5]  # greedy: each task to the first free worker
    assert span == 3.5
    assert idle / (2 * span) == pytest.approx(tail_share(0.0, starts_ends, 2))


# -- the batch model ----------------------------------------------------------------------


def test_the_model_is_perfect_without_spread_or_dispatch() -> None:
    for workers in (2, 64):
        assert simulate(workers, 1, 0.0, trials=3).efficiency == pytest.approx(1.0)


def test_the_model_gains_with_tasks_per_worker_and_loses_with_workers() -> None:
    low = simulate(64, 1, 0.3, trials=30).efficiency
    high = simulate(64, 16, 0.3, trials=30).efficiency
    few = simulate(2, 2, 0.3, trials=60).efficiency
    assert low < high
    assert simulate(128, 2, 0.3, trials=30).efficiency < few
    # Dispatch bounds a pool: at most 1 / dispatch tasks per task time.
    capped = simulate(128, 32, 0.0, dispatch=0.02, trials=3).efficiency
    assert capped <= 1 / (128 * 0.02) + 0.02


# -- one reference CPU ----------------------------------------------------------------------


def test_tasks_spread_evenly_over_cpus_and_the_remainder_moves_on() -> None:
    assert spread(32, [0, 1]) == [(0, 16), (1, 16)]
    assert spread(5, [0, 1]) == [(0, 3), (1, 2)]
    assert spread(5, [0, 1], first=1) == [(1, 3), (0, 2)]
    assert spread(2, [4, 5, 6, 7], first=3) == [(7, 1), (4, 1)]


def _fib_batch(size: int) -> Batch:
    return Batch(get_workload("cpu.fib"), {"n": 12}, size)


@pytest.mark.skipif(not pinning.affinity_supported(), reason="needs CPU affinity")
def test_the_serial_batch_runs_on_each_cpu_in_turn_and_returns_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = os.sched_getaffinity(0)
    moves: list[set[int]] = []
    real = os.sched_setaffinity

    def record(pid: int, cpus: set[int]) -> None:
        moves.append(set(cpus))
        real(pid, cpus if set(cpus) <= home else home)

    serial = SerialBackend(1)
    serial.rotate_over([100, 101])  # two CPUs: recorded, never really used
    monkeypatch.setattr(os, "sched_setaffinity", record)
    batch = _fib_batch(6)
    batch.verify(serial.run(batch))
    assert moves == [{100}, {101}, set(home)]
    assert os.sched_getaffinity(0) == home


def test_a_partner_times_its_sample_and_scales_it_to_the_batch() -> None:
    pairing = Pairing(_fib_batch(32), enabled=True, sample=8)
    assert pairing.sample.size == 8
    assert pairing.before() is None
    scaled, timed = pairing.after()
    assert scaled == pytest.approx(timed * 4)


def test_fewer_workers_than_cpus_are_pinned_one_each() -> None:
    assert pinning.worker_cpus(1, [2, 3]) == [3]  # CPU 0 (here the lowest) last
    assert pinning.worker_cpus(2, [2, 3]) == []
    assert pinning.worker_cpus(4, [2, 3]) == []


def test_the_check_accepts_workers_pinned_one_each_and_nothing_else() -> None:
    if not pinning.affinity_supported():
        pytest.skip("needs CPU affinity")
    pinning.check_workers("threads", [frozenset({0})], [0, 1], one_each=[0])
    with pytest.raises(pinning.AffinityError):
        pinning.check_workers("threads", [frozenset({0, 1})], [0, 1], one_each=[0])


# -- intervals as measured ----------------------------------------------------------------


def test_a_pure_python_interval_is_never_cut_and_is_marked_beyond_the_limit() -> None:
    """The interval that once stopped at min(workers, cores) (issue 23: 'processes 8 on
    8: 6.53 [3.04, 14.02] shown as [3.04, 8.00]') is kept whole and marked."""
    ratios = [[1.70, 1.72], [1.95, 1.97], [1.40, 1.42]]
    rows = [
        {"kind": kind, "backend": "processes", "workers": workers, "cores": 2,
         "cpu_list": "0-1", "speedup": speedup, "capacity": 2.0, "load_in": "",
         "_unit_ratios": ratios, "_unit_values": [[0.05, 0.05]] * 3, "tasks": 32,
         "throughput": 640.0}
        for kind, workers, speedup in (("cpu", 4, 1.71), ("cpu-released", 4, 1.71),
                                       ("cpu", 1, 1.05))
    ]  # fmt: skip
    frame, units = with_units(rows)
    out = intervals.add_intervals(frame, [None, None, None], units)
    unbounded = process_t_interval(ratios, 1.71)[1]
    assert unbounded > 2.0
    assert out.loc[0, "speedup_ci_high"] == pytest.approx(unbounded)  # not 2.0
    assert out["speedup_ci_beyond_limit"].tolist() == [True, False, True]
    assert not (out["speedup_ci_high"] == 2.0).any()
    assert out.loc[0, "efficiency_ci_high"] == pytest.approx(unbounded / 2)


def test_the_throughput_interval_covers_about_95_percent_at_three_processes() -> None:
    """Three processes of four values whose processes differ by 4 % (sd of the logs, about
    what this project's 2-core VM shows: one process in ten more than 5 % off its point)
    and values within one by 2 %: the t interval over the processes holds the true
    throughput in 90 to 99 % of 600 simulated points."""
    rng = np.random.default_rng(23)
    hits, trials, tasks, true_s = 0, 600, 32, 0.05
    for _ in range(trials):
        groups = [list(true_s * np.exp(rng.normal(0, 0.04) + rng.normal(0, 0.02, 4)))
                  for _ in range(3)]  # fmt: skip
        median = float(np.median([v for g in groups for v in g]))
        row = {"load_in": "", "tasks": tasks, "throughput": tasks / median}
        low, high, _ = intervals._throughput_interval(row, groups)
        hits += low <= tasks / true_s <= high
    assert 0.90 <= hits / trials <= 0.99


# -- verdict holes ----------------------------------------------------------------------------


def _row(backend: str, workers: int, speedup: float, effective: float, **extra: object
         ) -> dict[str, object]:  # fmt: skip
    return {
        "machine": "m", "interpreter": "cpython3.11", "gil_enabled": True,
        "workload": "cpu.fib", "params": "n=20", "kind": "cpu", "backend": backend,
        "start_method": "", "workers": workers, "cores": 2, "speedup": speedup,
        "effective_cores": effective, **extra,
    }  # fmt: skip


def test_one_worker_on_two_cores_is_not_scaling() -> None:
    """`--workers 1` on 2 cores: the threads point at 0.99x once read 'scales' (efficiency
    over min(workers, k) = 1, and points with fewer workers than cores stood in)."""
    verdict = judge(pd.DataFrame([
        _row("serial", 1, 1.0, 1.0), _row("threads", 1, 0.99, 1.0),
        _row("processes", 1, 0.97, 1.0),
    ]))  # fmt: skip
    assert verdict is not None
    assert verdict.threads == TOO_FEW_WORKERS
    assert verdict.threads != "scales"


def test_efficiency_for_scaling_divides_by_the_cores() -> None:
    """Threads at 1.1x with 2 workers on 4 cores: efficiency 0.28 over k, not 0.55 over
    min(workers, k) (and not scaling either way); at 4 workers 1.3x is 0.33."""
    rows = [_row("serial", 1, 1.0, 1.0, cores=4), _row("threads", 4, 1.3, 1.1, cores=4),
            _row("processes", 4, 3.8, 3.9, cores=4)]  # fmt: skip
    verdict = judge(pd.DataFrame(rows))
    assert verdict is not None
    assert verdict.threads == "GIL-bound"


def test_the_best_point_is_the_plateau_not_the_luckiest() -> None:
    """Processes at 2, 4 and 8 workers on 2 cores read 1.90, 1.96 and 1.93, their
    intervals overlapping: the highest is noise among equals.  The verdict reports the
    fewest workers that reach the plateau (2) with that point's own interval."""
    rows = [
        _row("serial", 1, 1.0, 1.0),
        _row("threads", 2, 1.0, 1.0, speedup_ci_low=0.97, speedup_ci_high=1.03),
        _row("processes", 2, 1.90, 1.95, speedup_ci_low=1.80, speedup_ci_high=2.00),
        _row("processes", 4, 1.96, 1.96, speedup_ci_low=1.86, speedup_ci_high=2.06),
        _row("processes", 8, 1.93, 1.96, speedup_ci_low=1.83, speedup_ci_high=2.03),
    ]
    verdict = judge(pd.DataFrame(rows))
    assert verdict is not None
    assert (verdict.best_workers, verdict.best_speedup) == (2, 1.90)
    # A point whose interval does not reach the top is not on the plateau.
    frame = pd.DataFrame(rows[2:])
    frame.loc[0, "speedup_ci_high"] = 1.92
    chosen = plateau(frame)
    assert chosen is not None
    assert int(chosen["workers"]) == 4


def test_a_long_tail_is_named_instead_of_the_workload() -> None:
    """Released threads at 8.1x of 16 with 38 % of their time idle at the batch's end
    (the 16-core example before work per worker): the batch's tail, not the work."""
    rows = [
        _row("serial", 1, 1.0, 1.0, cores=16, kind="cpu-released"),
        _row("threads", 16, 8.1, 9.5, cores=16, kind="cpu-released", share_tail=0.38),
        _row("processes", 16, 7.8, 9.8, cores=16, kind="cpu-released", share_tail=0.33),
    ]
    verdict = judge(pd.DataFrame(rows))
    assert verdict is not None
    assert verdict.threads == TAIL_BOUND
    assert "workers idle 38% of a batch waiting for its last tasks" in verdict.evidence
