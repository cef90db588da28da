"""Where the time went: the split of the workers' time, the workers each backend names,
real shares for threads under the GIL and for processes, and the report's bars."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from gilbench.analysis.noise import shares_warnings
from gilbench.benchmarks import get_workload
from gilbench.measure import shares
from gilbench.measure.backends import get_backend
from gilbench.measure.batch import Batch
from gilbench.measure.pinning import pin, thread_cpus
from gilbench.report.shares import shares_figure, shares_sentence

FIB = Batch(get_workload("cpu.fib"), {"n": 20}, 8)


def test_the_split_of_known_times() -> None:
    assert shares.Shares(0.5, 0.1, 1.0).split() == pytest.approx((0.5, 0.1, 0.4, 0.0))
    # The sum of two batches is the time-weighted split.
    total = shares.Shares(1.0, 0.0, 1.0) + shares.Shares(0.0, 0.0, 3.0)
    assert total.split() == pytest.approx((0.25, 0.0, 0.75, 0.0))


def test_more_running_than_time_is_clipped_and_reported() -> None:
    running, queued, blocked, excess = shares.Shares(0.9, 0.2, 1.0).split()
    assert excess == pytest.approx(0.1)
    assert running + queued == pytest.approx(1.0)
    assert running / queued == pytest.approx(0.9 / 0.2)
    assert blocked == 0.0


def test_an_unknown_run_queue_stays_unknown() -> None:
    running, queued, blocked, excess = shares.Shares(0.3, float("nan"), 1.0).split()
    assert (running, blocked, excess) == pytest.approx((0.3, 0.7, 0.0))
    assert math.isnan(queued)
    assert all(math.isnan(v) for v in shares.Shares(0.0, 0.0, 0.0).split())


def test_the_clock_reads_schedstat_around_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([(1_000, 10), (5_000, 20), (301_000, 10), (5_000, 100_020)])
    monkeypatch.setattr(shares, "read_schedstat", lambda pid, tid: next(readings))
    clock = shares.ShareClock([(1, 1), (1, 2)])
    clock.start()
    spent = clock.stop(clock.read(), wall_s=0.001, cpu_s=99.0)
    # 300 µs running, 100 µs queued, of 2 workers x 1 ms
    assert spent == shares.Shares(300e-6, 100e-6, 2e-3)


def test_without_schedstat_the_cpu_time_is_running_and_the_queue_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shares, "read_schedstat", lambda pid, tid: None)
    clock = shares.ShareClock([(1, 1), (1, 2)])
    clock.start()
    spent = clock.stop(clock.read(), wall_s=1.0, cpu_s=0.5)
    assert spent.running_s == 0.5
    assert spent.total_s == 2.0
    assert math.isnan(spent.runqueue_s)
    assert shares.ShareClock([(1, 1)]).stop(None, wall_s=1.0, cpu_s=5.0).running_s == 1.0


def test_a_sleeping_thread_is_blocked_and_a_spinning_one_runs() -> None:
    stop = threading.Event()
    ids: list[int] = []

    def sleeper() -> None:
        ids.append(threading.get_native_id())
        stop.wait()

    thread = threading.Thread(target=sleeper)
    thread.start()
    while not ids:
        time.sleep(0.001)
    clock = shares.ShareClock([(os.getpid(), ids[0]), (os.getpid(), threading.get_native_id())])
    clock.start()
    start = time.perf_counter()
    while time.perf_counter() - start < 0.05:
        pass
    wall = time.perf_counter() - start
    after = clock.read()
    stop.set()
    thread.join()
    running, queued, blocked, _ = clock.stop(after, wall, 0.0).split()
    # One of two workers slept all along: at least half of their time is blocked.
    assert blocked >= 0.45
    assert running + queued >= 0.4


@pytest.mark.parametrize(("name", "workers"), [("serial", 1), ("asyncio", 2), ("threads", 3),
                                               ("processes", 3)])  # fmt: skip
def test_each_backend_names_the_threads_that_run_its_tasks(name: str, workers: int) -> None:
    with get_backend(name)(workers) as backend:
        backend.start(FIB)
        threads = backend.worker_threads()
        assert len(threads) == workers if name != "asyncio" else len(threads) == 1
        for pid, tid in threads:
            assert shares.read_schedstat(pid, tid) is not None
        if name == "processes":
            assert all(pid == tid != os.getpid() for pid, tid in threads)
        elif name == "threads":
            assert threading.get_native_id() not in {tid for _, tid in threads}
        else:
            assert threads == [(os.getpid(), threading.get_native_id())]


def _shares_of(name: str, batch: Batch) -> tuple[float, float, float, float]:
    spent = shares.Shares(0.0, 0.0, 0.0)
    with get_backend(name)(2) as backend:
        backend.start(batch)
        clock = shares.ShareClock(backend.worker_threads())
        for _ in range(3):
            clock.start()
            start = time.perf_counter()
            batch.verify(backend.run(batch))
            wall = time.perf_counter() - start
            spent = spent + clock.stop(clock.read(), wall, 0.0)
    return spent.split()


def test_the_gil_is_blocked_time_for_threads_and_not_for_processes() -> None:
    """Two pure-Python workers on (up to) two CPUs: threads take turns holding the GIL,
    so only one runs at a time and the other waits for it, asleep (blocked) or, once
    woken, for a CPU (on a busy machine); processes never wait for each other.

    The bounds are loose on purpose: on a quiet 2-CPU machine threads show about half
    their time blocked; on a busy one (or one CPU) part of the GIL's wait shows as run
    queue, since a waiter woken by the GIL's timeout still needs a CPU."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    before = thread_cpus()
    pin(sorted(before)[:2])
    # fib(24), not fib(22): a process worker sleeps on its queue while each task is handed
    # over, and at the batch's tail; with short tasks that fixed wait read 0.05 to 0.16 of
    # processes' time as blocked on a noisy 2-CPU machine, with fib(24) 0.03 to 0.06.
    batch = Batch(get_workload("cpu.fib"), {"n": 24}, 16)
    try:
        threads = _shares_of("threads", batch)
        processes = _shares_of("processes", batch)
    finally:
        pin(sorted(before))
    assert sum(threads[:3]) == pytest.approx(1.0, abs=0.05)
    assert sum(processes[:3]) == pytest.approx(1.0, abs=0.05)
    assert threads[0] <= 0.6  # one running thread at a time: the GIL
    assert threads[2] >= 0.15  # blocked: the GIL made visible
    assert processes[2] <= 0.15
    assert threads[2] >= processes[2] + 0.1


# -- the report and the warning ---------------------------------------------------------------


def _report_row(
    backend: str, workers: int, split: tuple[float, float, float], kind: str = "cpu",
    gil: bool = True,
) -> dict[str, object]:  # fmt: skip
    running, queued, blocked = split
    return {"machine": "m", "interpreter": "cpython3.11", "params": "n=23", "kind": kind,
            "gil_enabled": gil, "backend": backend, "backend_label": backend, "workers": workers,
            "cores": 2, "share_running": running, "share_runqueue": queued,
            "share_blocked": blocked}  # fmt: skip


def test_the_sentence_reads_the_bars_by_kind_backend_and_gil() -> None:
    rows = pd.DataFrame([
        _report_row("serial", 1, (0.99, 0.01, 0.0)),
        _report_row("threads", 2, (0.40, 0.12, 0.48)),
        _report_row("threads", 4, (0.25, 0.05, 0.70)),  # the widest threads point
        _report_row("processes", 4, (0.55, 0.43, 0.02)),
        _report_row("asyncio", 4, (0.97, 0.0, 0.03)),
    ])  # fmt: skip
    figure = shares_figure("cpu.fib", rows)
    assert figure is not None
    assert "2 cores: where the time went" in figure.title
    assert ("threads (workers=4) spent 70% of their time blocked: with pure-Python work "
            "that is the GIL") in figure.caption  # fmt: skip
    assert "processes (workers=4) was hardly ever blocked (2%), and 43% waiting for a CPU" in (
        figure.caption
    )
    io = shares_sentence(pd.DataFrame([_report_row("threads", 16, (0.05, 0.0, 0.95), kind="io")]))
    assert io == ("threads (workers=16) spent 95% of their time blocked: waiting for I/O, "
                  "locks or the GIL.")  # fmt: skip
    free = shares_sentence(pd.DataFrame([_report_row("threads", 2, (0.9, 0.0, 0.1), gil=False)]))
    assert "the GIL is off" in free
    old = rows.assign(share_running=float("nan"))
    assert shares_figure("cpu.fib", old) is None


def test_clipped_shares_are_warned_about() -> None:
    frame = pd.DataFrame([
        {"workload": "cpu.fib", "backend": "threads", "start_method": "", "workers": 2,
         "cores": 2, "shares_excess": excess} for excess in (0.0, 0.02, 0.12)
    ])  # fmt: skip
    (line,) = shares_warnings(frame)
    assert line.startswith("1 points' workers ran or waited")
    assert "cpu.fib threads workers=2 cores=2 (+12%)" in line


def test_a_report_of_a_real_run_has_the_bars(tmp_path: Path) -> None:
    from helpers import gilbench

    done = gilbench("run", "--profile", "smoke", "--workload", "cpu.fib", "--backend", "threads",
                    "--backend", "serial", "--workers", "2", "--cores", "1",
                    "--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports"),
                    "--machine", "box")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (page,) = (tmp_path / "reports").rglob("index.html")
    html = page.read_text()
    assert "where the time went" in html
    assert "with pure-Python work that is the GIL" in html
