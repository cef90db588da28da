"""interpreters: concurrent.futures.InterpreterPoolExecutor (CPython 3.14+).

Each worker is a subinterpreter with its own GIL, in one process: tasks and results
cross interpreters by pickle, like processes, but start-up is cheaper.  The workload's
module is imported in every subinterpreter, so workloads use only modules that support
subinterpreters (the standard library's do).
"""

from __future__ import annotations

import concurrent.futures
import platform

from gilbench.measure.backends import ExecutorBackend
from gilbench.measure.backends._warm import hold_worker
from gilbench.measure.batch import Batch


class InterpretersBackend(ExecutorBackend):
    """concurrent.futures.InterpreterPoolExecutor: `workers` subinterpreters, own GIL each."""

    name = "interpreters"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if not hasattr(concurrent.futures, "InterpreterPoolExecutor"):
            return (
                "needs Python 3.14+ (concurrent.futures.InterpreterPoolExecutor); "
                f"this is {platform.python_version()}"
            )
        return None

    def start(self, batch: Batch) -> None:
        pool_class = concurrent.futures.InterpreterPoolExecutor  # type: ignore[attr-defined]
        self._pool = pool_class(max_workers=self.workers)
        module = batch.workload.func.__module__
        # One subinterpreter starts per submit while none is idle: holding each warm-up
        # task starts them all (and imports the workload in each) before timing.
        for hold_s in (0.05, 0.2, 1.0):
            args = ([module] * self.workers, [hold_s] * self.workers)
            if len(set(self._pool.map(hold_worker, *args))) >= self.workers:
                break
        list(self._pool.map(batch.call, range(min(self.workers, batch.size))))
