"""sync: the lesson's primitives as costs, in microseconds per operation.

Under ``serial`` a primitive is uncontended; under ``threads`` with several workers the
module-level Lock, RLock and Semaphore are contended by that many threads.  Workloads
that need a partner thread (Condition, Event, Queue) start and join it inside the task.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence

from gilbench.benchmarks._registry import Fact, Presentation, workload

SYNC_BACKENDS = ("serial", "threads")

_LOCK = threading.Lock()
_RLOCK = threading.RLock()
_SEMAPHORE = threading.BoundedSemaphore(1)


def _did(result: int, n: int) -> bool:
    return result == n


@workload(
    "sync.lock", kind="sync", params={"n": [10_000]}, check=_did, ops="n", backends=SYNC_BACKENDS
)
def lock(n: int) -> int:
    """threading.Lock acquire + release, uncontended (serial) or contended by `workers` threads.

    The lesson's fix for the lost-update counter, priced.
    """
    done = 0
    for _ in range(n):
        with _LOCK:
            done += 1
    return done


@workload(
    "sync.rlock", kind="sync", params={"n": [6_000]}, check=_did, ops="n", backends=SYNC_BACKENDS
)
def rlock(n: int) -> int:
    """threading.RLock taken twice (re-entered) and released twice, per operation."""
    done = 0
    for _ in range(n):
        with _RLOCK, _RLOCK:
            done += 1
    return done


@workload(
    "sync.semaphore",
    kind="sync",
    params={"n": [3_000]},
    check=_did,
    ops="n",
    backends=SYNC_BACKENDS,
)
def semaphore(n: int) -> int:
    """threading.BoundedSemaphore(1) acquire + release, the lesson's way to limit threads."""
    done = 0
    for _ in range(n):
        with _SEMAPHORE:
            done += 1
    return done


@workload(
    "sync.condition",
    kind="sync",
    params={"n": [100]},
    check=_did,
    ops="n",
    backends=SYNC_BACKENDS,
)
def condition_ping_pong(n: int) -> int:
    """Condition wait/notify ping-pong between two threads: the cost of one handoff.

    The lesson's producer/consumer with ``threading.Condition``.
    """
    cond = threading.Condition()
    turn = [0]  # whose turn: even = this thread, odd = partner

    def partner() -> None:
        for i in range(n):
            with cond:
                cond.wait_for(lambda i=i: turn[0] == 2 * i + 1)  # type: ignore[misc]
                turn[0] += 1
                cond.notify()

    thread = threading.Thread(target=partner)
    thread.start()
    for i in range(n):
        with cond:
            turn[0] += 1
            cond.notify()
            cond.wait_for(lambda i=i: turn[0] == 2 * i + 2)  # type: ignore[misc]
    thread.join()
    return turn[0] // 2


@workload(
    "sync.event", kind="sync", params={"n": [80]}, check=_did, ops="n", backends=SYNC_BACKENDS
)
def event_wake(n: int) -> int:
    """Event set-to-wake round trip: the lesson's traffic light (green, then acknowledged)."""
    green, ack = threading.Event(), threading.Event()

    def car() -> None:
        for _ in range(n):
            green.wait()
            green.clear()
            ack.set()

    thread = threading.Thread(target=car)
    thread.start()
    for _ in range(n):
        green.set()
        ack.wait()
        ack.clear()
    thread.join()
    return n


def _summed(result: int, n: int) -> bool:
    return result == n * (n - 1) // 2


@workload(
    "sync.queue", kind="sync", params={"n": [1_000]}, check=_summed, ops="n", backends=SYNC_BACKENDS
)
def queue_throughput(n: int) -> int:
    """queue.Queue producer/consumer: n items through a bounded queue to a consumer thread."""
    items: queue.Queue[int | None] = queue.Queue(maxsize=64)
    total = [0]

    def consumer() -> None:
        while (item := items.get()) is not None:
            total[0] += item

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(n):
        items.put(i)
    items.put(None)
    thread.join()
    return total[0]


def _noop() -> None:
    return None


@workload(
    "sync.thread_spawn",
    kind="sync",
    params={"n": [50]},
    check=_did,
    ops="n",
    backends=SYNC_BACKENDS,
)
def thread_spawn(n: int) -> int:
    """Start and join a new threading.Thread per job: the cost the lesson's pool avoids."""
    for _ in range(n):
        thread = threading.Thread(target=_noop)
        thread.start()
        thread.join()
    return n


@workload(
    "sync.thread_pool_reuse",
    kind="sync",
    params={"n": [100], "threads": [4]},
    check=lambda result, n, threads: result == n,
    ops="n",
    backends=SYNC_BACKENDS,
)
def thread_pool_reuse(n: int, threads: int) -> int:
    """The lesson's hand-made thread pool: n jobs through `threads` reused threads.

    Compare its per-job cost with sync.thread_spawn.
    """
    jobs: queue.Queue[threading.Event | None] = queue.Queue()

    def worker() -> None:
        while (done := jobs.get()) is not None:
            _noop()
            done.set()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    finished = 0
    for _ in range(n):
        done = threading.Event()
        jobs.put(done)
        done.wait()
        finished += 1
    for _ in pool:
        jobs.put(None)
    for thread in pool:
        thread.join()
    return finished


def _timer_ok(result: float, delay_ms: float) -> bool:
    return 0.0 <= result < 1000.0  # fired, not early, and within a second of its time


def _lateness(results: Sequence[float]) -> dict[str, float]:
    return {"timer_late_ms": sum(results) / len(results), "timer_late_ms_worst": max(results)}


@workload(
    "sync.timer",
    kind="sync",
    params={"delay_ms": [5.0]},
    tasks=8,
    check=_timer_ok,
    facts=_lateness,
    present=Presentation(
        facts=(Fact("timer_late_ms", "timer late", "ms"),),
        cost_caveat="sync.timer's operation includes its requested delay; its lateness is "
        "the last column.",
    ),
    backends=SYNC_BACKENDS,
)
def timer(delay_ms: float) -> float:
    """threading.Timer firing delay: how late (ms) it fires after its requested delay."""
    fired = threading.Event()
    fired_at = [0.0]

    def fire() -> None:
        fired_at[0] = time.perf_counter()
        fired.set()

    started = time.perf_counter()
    timer_thread = threading.Timer(delay_ms / 1000, fire)
    timer_thread.start()
    fired.wait()
    timer_thread.join()
    return (fired_at[0] - started) * 1000 - delay_ms
