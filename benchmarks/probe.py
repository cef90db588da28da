"""probe: correctness facts from the lesson, reported as counts, not speeds.

Each probe starts its own threads inside a task, so it runs under ``serial`` only.  A
probe always returns: every wait has a timeout, and every thread it starts is joined
before it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from gilbench.benchmarks._registry import Fact, Params, Presentation, workload

PROBE_BACKENDS = ("serial",)
JOIN_TIMEOUT_S = 10.0


class _Box:
    value = 0


def _run_counter(threads: int, n: int, step: Callable[[_Box], None]) -> int:
    """Run ``step`` n times in each of ``threads`` threads; return the updates lost."""
    box = _Box()
    start = threading.Barrier(threads)

    def worker() -> None:
        start.wait(timeout=JOIN_TIMEOUT_S)
        for _ in range(n):
            step(box)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return threads * n - box.value


def _plain(box: _Box) -> None:
    box.value += 1


def _read_yield_write(box: _Box) -> None:
    value = box.value
    time.sleep(0)  # a call that lets another thread run between the read and the write
    box.value = value + 1


_COUNTER_LOCK = threading.Lock()


def _locked(box: _Box) -> None:
    with _COUNTER_LOCK:
        value = box.value
        time.sleep(0)
        box.value = value + 1


def _lost_is_possible(result: int, threads: int, n: int) -> bool:
    return 0 <= result <= threads * n


def _lost_facts(results: Sequence[int]) -> dict[str, float]:
    return {"lost_updates": sum(results) / len(results), "lost_updates_worst": max(results)}


LOST_FACTS = (
    Fact("lost_updates", "lost updates", "per task"),
    Fact("lost_updates_worst", "lost updates", "in the worst task", combine="worst"),
)


def _counter_finding(params: Params, facts: Mapping[str, float]) -> str:
    lost = facts.get("lost_updates")
    if lost is None:
        return "no facts recorded"
    total = int(params["threads"]) * int(params["n"])
    if lost == 0:
        return (
            f"lost none of {total:,} updates per task: on this interpreter this form "
            "did not lose updates in this run"
        )
    worst = facts.get("lost_updates_worst", lost)
    return f"lost {lost:,.0f} of {total:,} updates per task on average (worst {worst:,.0f})"


COUNTER_PARAMS = {"threads": [8], "n": [20_000]}


@workload(
    "probe.counter_plain",
    kind="probe",
    params=COUNTER_PARAMS,
    tasks=4,
    check=_lost_is_possible,
    facts=_lost_facts,
    present=Presentation(
        facts=LOST_FACTS,
        finding=_counter_finding,
    ),
    backends=PROBE_BACKENDS,
)
def counter_plain(threads: int, n: int) -> int:
    """Lost updates of `counter += 1` from 8 threads without a lock (the lesson's counter).

    Recent CPython switches threads only at certain bytecodes, so this form may lose none
    under the GIL; free-threaded builds lose many.
    """
    return _run_counter(threads, n, _plain)


@workload(
    "probe.counter_yield",
    kind="probe",
    params={"threads": [8], "n": [200]},
    tasks=4,
    check=_lost_is_possible,
    facts=_lost_facts,
    present=Presentation(
        facts=LOST_FACTS,
        finding=_counter_finding,
    ),
    backends=PROBE_BACKENDS,
)
def counter_yield(threads: int, n: int) -> int:
    """Lost updates of read, time.sleep(0), write from 8 threads without a lock."""
    return _run_counter(threads, n, _read_yield_write)


@workload(
    "probe.counter_locked",
    kind="probe",
    params={"threads": [8], "n": [100]},
    tasks=4,
    check=lambda result, threads, n: result == 0,
    facts=_lost_facts,
    present=Presentation(
        facts=LOST_FACTS,
        finding=_counter_finding,
    ),
    backends=PROBE_BACKENDS,
)
def counter_locked(threads: int, n: int) -> int:
    """The same read, yield, write under a threading.Lock: must lose exactly 0 updates."""
    return _run_counter(threads, n, _locked)


def _deadlock_facts(results: Sequence[int]) -> dict[str, float]:
    return {"deadlocks_detected": sum(results) / len(results)}


def _deadlock_finding(params: Params, facts: Mapping[str, float]) -> str:
    return (
        f"deadlock detected in {facts.get('deadlocks_detected', 0):.0%} of tasks; "
        "acquire(timeout=...) let both threads give up and return"
    )


@workload(
    "probe.deadlock",
    kind="probe",
    params={"timeout_ms": [50.0]},
    tasks=4,
    check=lambda result, timeout_ms: result in (0, 1),
    facts=_deadlock_facts,
    present=Presentation(
        facts=(Fact("deadlocks_detected", "deadlocks detected", "per task"),),
        finding=_deadlock_finding,
    ),
    backends=PROBE_BACKENDS,
)
def deadlock(timeout_ms: float) -> int:
    """The lesson's deadlock: two threads take two locks in opposite order.

    With ``acquire(timeout=...)`` a thread gives up instead of hanging; returns 1 when one
    did, i.e. the deadlock happened and was detected.  (Once one thread gives up and
    releases its lock, the other may then succeed: the deadlock is broken, not avoided.)
    """
    lock_a, lock_b = threading.Lock(), threading.Lock()
    both_hold_one = threading.Barrier(2)
    gave_up = [False, False]

    def take(first: threading.Lock, second: threading.Lock, slot: int) -> None:
        with first:
            both_hold_one.wait(timeout=JOIN_TIMEOUT_S)
            if second.acquire(timeout=timeout_ms / 1000):
                second.release()
            else:
                gave_up[slot] = True

    pair = [
        threading.Thread(target=take, args=(lock_a, lock_b, 0)),
        threading.Thread(target=take, args=(lock_b, lock_a, 1)),
    ]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join(JOIN_TIMEOUT_S)
    return int(any(gave_up))


def _daemon_facts(results: Sequence[tuple[int, int]]) -> dict[str, float]:
    return {
        "daemon_abandoned_at_join_timeout": sum(r[0] for r in results) / len(results),
        "non_daemon_waited_for": sum(r[1] for r in results) / len(results),
    }


def _daemon_finding(params: Params, facts: Mapping[str, float]) -> str:
    return (
        "daemon thread abandoned at join(timeout): "
        f"{facts.get('daemon_abandoned_at_join_timeout', 0):.0%}; "
        f"non-daemon thread waited for by join(): {facts.get('non_daemon_waited_for', 0):.0%}"
    )


@workload(
    "probe.daemon_join",
    kind="probe",
    params={"join_timeout_ms": [10.0]},
    tasks=4,
    check=lambda result, join_timeout_ms: result == (1, 1),
    facts=_daemon_facts,
    present=Presentation(
        facts=(
            Fact(
                "daemon_abandoned_at_join_timeout", "daemon abandoned at join(timeout)", "per task"
            ),
            Fact("non_daemon_waited_for", "non-daemon waited for by join()", "per task"),
        ),
        finding=_daemon_finding,
    ),
    backends=PROBE_BACKENDS,
)
def daemon_join(join_timeout_ms: float) -> tuple[int, int]:
    """Daemon threads and join(timeout): the lesson's two kinds of thread.

    A daemon thread still working at ``join(timeout)`` is abandoned (join returns, the
    thread is alive); a non-daemon thread is waited for by a plain ``join()``.  Returns
    (daemon abandoned, non-daemon waited for).  The probe then releases its daemon
    thread, so nothing outlives the task.
    """
    release = threading.Event()
    daemon = threading.Thread(target=release.wait, args=(JOIN_TIMEOUT_S,), daemon=True)
    daemon.start()
    daemon.join(timeout=join_timeout_ms / 1000)
    abandoned = int(daemon.is_alive())
    worker = threading.Thread(target=time.sleep, args=(2 * join_timeout_ms / 1000,))
    worker.start()
    worker.join()
    waited = int(not worker.is_alive())
    release.set()
    daemon.join(JOIN_TIMEOUT_S)
    return abandoned, waited


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _logging_facts(results: Sequence[tuple[int, int, int]]) -> dict[str, float]:
    return {
        "records_received": sum(r[0] for r in results) / len(results),
        "records_missing": sum(r[1] for r in results) / len(results),
        "records_duplicated": sum(r[2] for r in results) / len(results),
    }


def _logging_finding(params: Params, facts: Mapping[str, float]) -> str:
    return (
        f"{facts.get('records_received', 0):,.0f} records received, "
        f"{facts.get('records_missing', 0):,.0f} missing, "
        f"{facts.get('records_duplicated', 0):,.0f} duplicated"
    )


@workload(
    "probe.logging",
    kind="probe",
    params={"threads": [200]},
    tasks=4,
    check=lambda result, threads: result == (threads, 0, 0),
    facts=_logging_facts,
    present=Presentation(
        facts=(
            Fact("records_received", "records received", "per task"),
            Fact("records_missing", "records missing", "per task"),
            Fact("records_duplicated", "records duplicated", "per task"),
        ),
        finding=_logging_finding,
    ),
    backends=PROBE_BACKENDS,
)
def logging_from_threads(threads: int) -> tuple[int, int, int]:
    """Logging from 200 threads (the lesson's example): every record arrives exactly once.

    Returns (received, missing, duplicated).
    """
    handler = _Collect()
    logger = logging.getLogger(f"gilbench.probe.{threading.get_ident()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        pool = [threading.Thread(target=logger.info, args=("record %d", i)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(JOIN_TIMEOUT_S)
    finally:
        logger.removeHandler(handler)
    expected = {f"record {i}" for i in range(threads)}
    received = handler.messages
    missing = len(expected - set(received))
    duplicated = len(received) - len(set(received))
    return len(received), missing, duplicated
