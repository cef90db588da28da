"""Pinned where it says, and checked (docs/design.md, rule 13): the plan chooses each point's
CPUs, the worker pins them before any pool exists, pyperf's own pinning cannot move
them, the pool's workers are read back before timing, and a cgroup quota caps the sweep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyperf
import pytest

from gilbench.analysis.run_notes import cores_cap_notes
from gilbench.analysis.store import load_results
from gilbench.analysis.tidy import tidy
from gilbench.measure import bridge
from gilbench.measure.backends.threads import ThreadsBackend
from gilbench.measure.machine import allowed_cpus, choose_cpus, cores_cap_note, cpu_cores
from gilbench.measure.pinning import AffinityError, affinity_supported, check_workers
from gilbench.report.page import pinned_cpus_text
from gilbench.run import command
from gilbench.run.command import RunOptions, plan_run, run_plan
from gilbench.run.profiles import get_profile
from gilbench.run.selection import UsageError
from gilbench.run.workers import worker_command
from gilbench.vocabulary import Point, format_cpu_list

ALLOWED = allowed_cpus() if affinity_supported() else []
needs_two_cpus = pytest.mark.skipif(
    len(ALLOWED) < 2, reason="needs CPU affinity and at least two allowed CPUs"
)


def one_cpu() -> list[int]:
    """The CPU a 1-core point gets on this machine (not CPU 0 where there is another)."""
    return choose_cpus(1, ALLOWED, cpu_cores(ALLOWED))


@pytest.fixture
def restore_affinity() -> Iterator[None]:
    """Tests that pin this process's main thread give it its CPUs back."""
    before = os.sched_getaffinity(0) if affinity_supported() else set()
    yield
    if before:
        os.sched_setaffinity(0, before)


# -- the plan chooses, the point carries ---------------------------------------------------


def test_a_point_carries_its_cpus_in_json_but_not_in_its_name() -> None:
    point = Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4, cpus=(3, 1))
    assert point.cpus == (1, 3)
    again = Point.from_json(point.to_json())
    assert again.cpus == (1, 3)
    assert again.name == Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4).name
    assert Point.from_json(point.to_json().replace(',"cpus":[1,3]', "")).cpus == ()
    with pytest.raises(ValueError, match="cores=2 runs on 2 CPUs"):
        Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4, cpus=(1,))


def test_pyperf_workers_get_the_points_cpus_as_affinity(tmp_path: Path) -> None:
    profile = get_profile("smoke")
    pinned = Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4, cpus=(0, 1))
    command_line = worker_command(pinned, profile, tmp_path / "out.json", loops=1)
    assert "--affinity=0-1" in command_line
    unpinned = Point("cpu.fib", {"n": 10}, "threads", 2, 2, 4)
    command_line = worker_command(unpinned, profile, tmp_path / "out.json", loops=1)
    assert not any(arg.startswith("--affinity") for arg in command_line)


@needs_two_cpus
def test_the_plan_chooses_cpus_once_per_core_count_by_topology(tmp_path: Path) -> None:
    options = RunOptions(profile="smoke", workloads=("cpu.fib",), cores=(1, len(ALLOWED)),
                         results=str(tmp_path), machine="box")  # fmt: skip
    plan = plan_run(options)
    by_cores = {p.cores: p.cpus for p in plan.points}
    assert by_cores == {1: tuple(one_cpu()), len(ALLOWED): tuple(ALLOWED)}
    assert all(p.cpus == by_cores[p.cores] for p in plan.points)
    if 0 in ALLOWED:
        assert 0 not in by_cores[1]  # CPU 0 takes the interrupts: last
    assert plan.cpu_choice == f"1:{one_cpu()[0]} {len(ALLOWED)}:{format_cpu_list(ALLOWED)}"


# -- the quota caps the sweep --------------------------------------------------------------


@needs_two_cpus
def test_a_cgroup_quota_caps_the_core_sweep_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command, "cgroup_cpu_quota", lambda: 1.0)
    options = RunOptions(profile="quick", workloads=("cpu.fib",), results=str(tmp_path),
                         machine="box")  # fmt: skip
    plan = plan_run(options)
    assert {p.cores for p in plan.points} == {1}
    assert plan.available == 1
    assert plan.cores_note == f"cgroup quota of 1 CPUs: cores capped at 1 of {len(ALLOWED)} allowed"
    with pytest.raises(UsageError, match=r"--cores 2: .* only 1 CPUs \(cgroup CPU quota of 1"):
        plan_run(RunOptions(profile="quick", workloads=("cpu.fib",), cores=(2,),
                            results=str(tmp_path), machine="box"))  # fmt: skip


def test_the_cap_note_only_when_a_quota_caps() -> None:
    assert cores_cap_note(16, 2.0) == "cgroup quota of 2 CPUs: cores capped at 2 of 16 allowed"
    assert cores_cap_note(16, 2.5) == "cgroup quota of 2.5 CPUs: cores capped at 2 of 16 allowed"
    assert cores_cap_note(2, 8.0) is None
    assert cores_cap_note(16, None) is None


# -- inside the worker: pinned, re-pinned, read back -----------------------------------------


@needs_two_cpus
@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_pool_workers_inherit_the_chosen_cpu(backend: str, tmp_path: Path) -> None:
    """A fresh worker process, as the orchestrator starts it: after start-up, every pool
    worker reports exactly the one CPU the plan chose."""
    cpus = one_cpu()
    point = Point("cpu.fib", {"n": 10}, backend, 2, 1, 4, cpus=tuple(cpus))
    script = textwrap.dedent(
        """
        import json, os, sys
        from gilbench.measure.bridge import start_worker
        from gilbench.vocabulary import Point
        started = start_worker(Point.from_json(sys.argv[1]))
        try:
            workers = started.measurement.backend.worker_affinities()
            print(json.dumps({"workers": [sorted(w) for w in workers],
                              "main": sorted(os.sched_getaffinity(0)),
                              "cpu_list": started.metadata["cpu_list"]}))
        finally:
            started.measurement.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", script, point.to_json()], capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    found = json.loads(out.stdout)
    assert found["workers"] == [cpus, cpus]  # two workers, each on exactly that CPU
    assert found["main"] == cpus
    assert found["cpu_list"] == format_cpu_list(cpus)


@needs_two_cpus
def test_the_worker_pins_again_before_the_pool_exists(restore_affinity: None) -> None:
    """Whatever moved the measuring thread after start-up (pyperf's own pinning), the
    pool is created on the point's CPUs."""
    cpus = one_cpu()
    elsewhere = sorted(set(ALLOWED) - set(cpus))
    measurement = bridge.Measurement(Point("cpu.fib", {"n": 10}, "threads", 2, 1, 4,
                                           cpus=tuple(cpus)))  # fmt: skip
    try:
        os.sched_setaffinity(0, elsewhere)  # as pyperf would, to a tuned host's isolated CPUs
        measurement.time_batches(1)
        assert measurement.backend is not None
        assert measurement.backend.worker_affinities() == [frozenset(cpus)] * 2
    finally:
        measurement.close()


@needs_two_cpus
def test_a_pool_worker_on_other_cpus_fails_the_point_clearly(
    monkeypatch: pytest.MonkeyPatch, restore_affinity: None
) -> None:
    cpus = one_cpu()
    other = frozenset(set(ALLOWED) - set(cpus))
    monkeypatch.setattr(ThreadsBackend, "worker_affinities", lambda self: [frozenset(cpus), other])
    measurement = bridge.Measurement(Point("cpu.fib", {"n": 10}, "threads", 2, 1, 4,
                                           cpus=tuple(cpus)))  # fmt: skip
    try:
        with pytest.raises(AffinityError) as failure:
            measurement.time_batches(1)
    finally:
        measurement.close()
    message = str(failure.value)
    assert f"threads pool's workers run on CPUs {format_cpu_list(sorted(other))}" in message
    assert f"not on the point's CPUs {format_cpu_list(cpus)}" in message


def test_the_check_passes_only_exact_matches() -> None:
    check_workers("threads", [frozenset({1}), frozenset({1})], [1])
    check_workers("threads", [], [1])  # nothing read back (no affinity API): nothing to check
    with pytest.raises(AffinityError, match="run on CPUs 0-1, not on the point's CPUs 1"):
        check_workers("processes", [frozenset({1}), frozenset({0, 1})], [1])


# -- pyperf cannot override it -----------------------------------------------------------------

# A worker run under a pyperf whose isolated-CPU detection says `isolated` (a tuned host),
# reporting the measuring thread's affinity right after pyperf pinned it, and the pool
# workers' affinity at the first timed batch.
_PYPERF_ISOLATED = """
import json, os, sys
import pyperf._runner as runner_module
from gilbench.measure import bridge

isolated, report = json.loads(sys.argv[1]), sys.argv[2]
runner_module.get_isolated_cpus = lambda: isolated
pin = runner_module.Runner._cpu_affinity
seen = {}

def spy(self):
    pin(self)
    seen["after_pyperf"] = sorted(os.sched_getaffinity(0))

runner_module.Runner._cpu_affinity = spy
time_batches = bridge.Measurement.time_batches

def timed(self, loops):
    seen["at_timing"] = sorted(os.sched_getaffinity(0))
    seen["workers"] = [sorted(w) for w in self.backend.worker_affinities()]
    return time_batches(self, loops)

bridge.Measurement.time_batches = timed
try:
    bridge.main(sys.argv[3:])
finally:
    with open(report, "w") as out:
        json.dump(seen, out)
"""


@needs_two_cpus
@pytest.mark.parametrize("conflicting", [False, True], ids=["isolated-cpus", "affinity-option"])
def test_pyperfs_own_pinning_cannot_move_a_point(tmp_path: Path, conflicting: bool) -> None:
    """pyperf pins its worker to a tuned host's isolated CPUs when no --affinity is given,
    and to --affinity when one is: either way the point's CPUs win, in the measuring
    thread and in the pool, and the result file says where it ran."""
    cpus = one_cpu()
    elsewhere = sorted(set(ALLOWED) - set(cpus))
    point = Point("cpu.fib", {"n": 12}, "threads", 2, 1, 4, cpus=tuple(cpus))
    output, report = tmp_path / "point.json", tmp_path / "seen.json"
    extra = [f"--affinity={format_cpu_list(elsewhere)}"] if conflicting else []
    subprocess.run(
        [sys.executable, "-c", _PYPERF_ISOLATED, json.dumps(elsewhere), str(report),
         "--worker", "--worker-task=0", *extra, "--values", "1", "--warmups", "0",
         "--loops", "1", "--quiet", "--output", str(output), "--point", point.to_json()],
        check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    seen = json.loads(report.read_text())
    assert seen == {"after_pyperf": cpus, "at_timing": cpus, "workers": [cpus, cpus]}
    run = pyperf.Benchmark.load(str(output)).get_runs()[0]
    assert run.get_metadata()["cpu_list"] == format_cpu_list(cpus)


# -- a real run records where every point ran -----------------------------------------------------


@pytest.mark.slow
@needs_two_cpus
def test_a_smoke_run_records_the_cpus_each_point_was_meant_to_use(tmp_path: Path) -> None:
    options = RunOptions(profile="smoke", workloads=("cpu.fib",),
                         backends=("serial", "threads", "processes"), workers=(2,),
                         cores=(1, 2), params=("cpu.fib:n=15",), tasks=4,
                         results=str(tmp_path / "results"), machine="box")  # fmt: skip
    plan = plan_run(options)
    outcome = run_plan(plan)
    assert not outcome.failures, outcome.failures
    meant = {p.name: format_cpu_list(list(p.cpus)) for p in plan.points}
    suite = pyperf.BenchmarkSuite.load(str(outcome.path))
    recorded = {}
    for bench in suite.get_benchmarks():
        lists = {run.get_metadata()["cpu_list"] for run in bench.get_runs()}
        assert len(lists) == 1
        recorded[bench.get_name()] = lists.pop()
        assert bench.get_metadata()["cpu_choice"] == plan.cpu_choice
    assert recorded == meant
    assert {meant[p.name] for p in plan.points if p.cores == 1} == {format_cpu_list(one_cpu())}
    frame = tidy(load_results(outcome.path))
    assert dict(zip(frame["name"], frame["cpu_list"], strict=True)) == meant


@pytest.mark.slow
@needs_two_cpus
def test_a_capped_run_records_and_reports_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command, "cgroup_cpu_quota", lambda: 1.0)
    options = RunOptions(profile="smoke", workloads=("cpu.fib",), backends=("serial",),
                         params=("cpu.fib:n=12",), tasks=2, results=str(tmp_path / "results"),
                         machine="box")  # fmt: skip
    notes: list[str] = []
    outcome = run_plan(plan_run(options), notes.append)
    note = f"cgroup quota of 1 CPUs: cores capped at 1 of {len(ALLOWED)} allowed"
    assert note in notes
    assert cores_cap_notes(load_results(outcome.path)) == [
        f"box: {note}; the numbers go no wider than the quota"
    ]


def test_the_report_shows_the_cpus_per_core_count() -> None:
    rows = pd.DataFrame({"cores": [1, 1, 2, 2], "cpu_list": ["1", "1", "0-1", ""]})
    assert pinned_cpus_text(rows) == "1 core: 1; 2 cores: 0-1"
    assert pinned_cpus_text(rows.assign(cpu_list="")) == "–"  # files from before schema 3
    assert pinned_cpus_text(rows.drop(columns="cpu_list")) == "–"
