"""Every workload of the catalogue, run for real on small parameters, through the same
code path the pyperf worker uses (setup, backend, batch check, facts)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psutil
import pytest

from gilbench.benchmarks import KINDS, all_workloads, get_workload
from gilbench.measure.bridge import Measurement
from gilbench.vocabulary import Point

# Small parameters so each workload's task takes well under 100 ms in tests.
SMALL: dict[str, dict[str, str]] = {
    "cpu.fib": {"n": "12"},
    "cpu.mandelbrot": {"size": "12"},
    "cpu.primes": {"limit": "500"},
    "cpu.wordcount": {"words": "300"},
    "cpu.json_encode": {"items": "20"},
    "released.sha256": {"total_kib": "256"},
    "released.sha256_control": {"total_kib": "16"},
    "released.zlib": {"kib": "8"},
    "released.bz2": {"kib": "8"},
    "released.lzma": {"kib": "8"},
    "io.sleep": {"ms": "1"},
    "io.echo": {"trips": "2", "delay_ms": "0"},
    "io.file": {"kib": "8"},
    "sync.lock": {"n": "100"},
    "sync.rlock": {"n": "100"},
    "sync.semaphore": {"n": "100"},
    "sync.condition": {"n": "10"},
    "sync.event": {"n": "10"},
    "sync.queue": {"n": "50"},
    "sync.thread_spawn": {"n": "3"},
    "sync.thread_pool_reuse": {"n": "10"},
    "sync.timer": {"delay_ms": "1"},
    "probe.counter_plain": {"n": "200"},
    "probe.counter_yield": {"n": "50"},
    "probe.counter_locked": {"n": "20"},
    "probe.logging": {"threads": "20"},
}


def test_the_catalogue_has_20_workloads_across_five_families_with_descriptions() -> None:
    registry = all_workloads()
    assert len(registry) >= 20
    assert {"cpu", "released", "io", "sync", "probe"} <= {w.family for w in registry.values()}
    assert {"cpu", "cpu-released", "io", "sync", "probe"} <= {w.kind for w in registry.values()}
    assert all(w.kind in KINDS for w in registry.values())
    for wl in registry.values():
        assert wl.description, wl.name
        assert len(wl.description) < 110, wl.name


def test_the_released_family_has_a_gil_holding_control() -> None:
    control = get_workload("released.sha256_control")
    released = get_workload("released.sha256")
    assert control.kind == "cpu"
    assert released.kind == "cpu-released"
    assert control.default_params["kib"] * 1024 < 2048 <= released.default_params["kib"] * 1024


def _measure_once(name: str, backend: str, workers: int) -> Measurement:
    wl = get_workload(name)
    params = wl.coerce_params(SMALL.get(name, {}))
    point = Point(
        name,
        params,
        backend,
        workers,
        1,
        tasks=4,
        start_method="fork" if backend == "processes" else None,
    )
    measurement = Measurement(point)
    try:
        assert measurement.time_batches(1) > 0
    finally:
        measurement.close()
    return measurement


# Mixed workloads are responders timed beside a CPU load: tests/test_mixed.py runs them.
THROUGHPUT = sorted(name for name, wl in all_workloads().items() if not wl.is_latency)


@pytest.mark.parametrize("name", THROUGHPUT)
def test_every_workload_runs_and_checks_its_results_serially(name: str) -> None:
    _measure_once(name, "serial", 1)


@pytest.mark.parametrize(
    "name",
    [name for name in THROUGHPUT if get_workload(name).runs_on("threads")],
)
def test_every_workload_runs_under_threads(name: str) -> None:
    _measure_once(name, "threads", 2)


@pytest.mark.parametrize("backend", ["threads", "processes", "asyncio"])
def test_echo_server_starts_serves_and_stops_cleanly(backend: str) -> None:
    me = psutil.Process()
    sockets_before = len(me.net_connections(kind="tcp"))
    measurement = _measure_once("io.echo", backend, 3)
    (pid,) = measurement.helper_pids
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert len(me.net_connections(kind="tcp")) == sockets_before


def test_echo_server_listens_on_loopback_only() -> None:
    from gilbench.benchmarks._echo_server import echo_server

    with echo_server(0.0) as extras:
        server = psutil.Process(extras["helper_pids"][0])
        listening = [c for c in server.net_connections(kind="tcp") if c.status == "LISTEN"]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]


def test_file_workload_removes_its_temporary_folder() -> None:
    before = set(Path(tempfile.gettempdir()).glob("gilbench-io-*"))
    _measure_once("io.file", "threads", 2)
    assert set(Path(tempfile.gettempdir()).glob("gilbench-io-*")) == before


def test_probes_report_their_facts() -> None:
    from gilbench.measure import run_facts

    run_facts._times.clear()
    run_facts._facts.clear()
    _measure_once("probe.counter_locked", "serial", 1)
    _measure_once("probe.deadlock", "serial", 1)
    metadata: dict[str, object] = {}
    run_facts.RunFactsHook().teardown(metadata)
    assert metadata["fact_lost_updates"] == 0
    assert metadata["fact_deadlocks_detected"] == 1
    assert float(str(metadata["effective_cores"])) >= 0


def test_yield_form_loses_updates_without_a_lock() -> None:
    wl = get_workload("probe.counter_yield")
    lost = wl.func(threads=8, n=100)
    assert 0 < lost <= 800, "read, sleep(0), write from 8 threads always loses updates"
    assert get_workload("probe.counter_locked").func(threads=8, n=50) == 0


def test_no_temporary_files_or_descriptors_leak_from_a_batch() -> None:
    fds_before = psutil.Process().num_fds() if os.name == "posix" else 0
    _measure_once("io.subprocess", "threads", 2)
    assert psutil.Process().num_fds() <= fds_before + 1


DECLARING = sorted(
    name for name, wl in all_workloads().items() if wl.shown_facts or wl.finding is not None
)


@pytest.mark.parametrize("name", DECLARING)
def test_declared_facts_are_the_facts_each_workload_records(name: str) -> None:
    """What the report shows of a workload (its facts' labels, its finding) is declared
    beside it; every declared fact must be one its facts function returns."""
    wl = get_workload(name)
    params = wl.coerce_params(SMALL.get(name, {}))
    assert wl.facts is not None
    facts = {key: float(v) for key, v in wl.facts([wl.func(**params)]).items()}
    assert {fact.key for fact in wl.shown_facts} <= set(facts), name
    if wl.finding is not None:
        sentence = wl.finding(params, facts)
        assert sentence, name
        assert "nan" not in sentence, (name, sentence)


def test_the_probes_and_the_timer_say_what_their_facts_mean() -> None:
    assert {"probe.counter_plain", "probe.deadlock", "probe.logging"} <= set(DECLARING)
    timer = get_workload("sync.timer")
    assert [f.heading for f in timer.shown_facts] == ["timer late (ms)"]
    assert "requested delay" in timer.cost_caveat
    locked = get_workload("probe.counter_locked")
    assert locked.finding is not None
    assert locked.finding({"threads": 8, "n": 100}, {"lost_updates": 0.0}).startswith(
        "lost none of 800 updates per task"
    )
    assert locked.finding({"threads": 8, "n": 100}, {}) == "no facts recorded"
