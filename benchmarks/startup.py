"""startup: what creating a thread pool, a process pool (per start method) or a
subinterpreter costs, measured on its own: backends never pay it inside a batch."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from gilbench.benchmarks._registry import workload

STARTUP_BACKENDS = ("serial",)


def startup_workload(backend: str, start_method: str | None = None) -> str | None:
    """The workload of this family that measures starting ``backend``'s pool (a process
    pool per start method), or None: what a decision quotes as the backend's start-up."""
    if backend == "processes":
        return f"startup.process_pool_{start_method or 'forkserver'}"
    return {"threads": "startup.thread_pool", "interpreters": "startup.interpreter"}.get(backend)


def _one(_: int) -> int:
    return 1


def _started_all(result: int, workers: int, **_: object) -> bool:
    return result == workers


@workload(
    "startup.thread_pool",
    kind="startup",
    params={"workers": [4]},
    tasks=8,
    check=_started_all,
    backends=STARTUP_BACKENDS,
)
def thread_pool(workers: int) -> int:
    """Create a ThreadPoolExecutor, run one task per worker, shut it down."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(_one, range(workers)))


def process_pool(method: str, workers: int) -> int:
    """Create a ProcessPoolExecutor with this start method, run a task per worker, shut down."""
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return sum(pool.map(_one, range(workers)))


# One workload per start method this platform has: variants are data, not copies of code.
for _method in multiprocessing.get_all_start_methods():
    workload(
        f"startup.process_pool_{_method}",
        kind="startup",
        params={"method": [_method], "workers": [2]},
        tasks=4,
        check=_started_all,
        backends=STARTUP_BACKENDS,
    )(process_pool)


if sys.version_info >= (3, 14):
    from concurrent import interpreters

    def _closed(result: int) -> bool:
        return result == 1

    @workload(
        "startup.interpreter",
        kind="startup",
        tasks=8,
        check=_closed,
        backends=STARTUP_BACKENDS,
    )
    def interpreter() -> int:
        """Create a subinterpreter (concurrent.interpreters), run one call in it, close it."""
        interp = interpreters.create()
        try:
            return int(interp.call(_one, 0))
        finally:
            interp.close()
