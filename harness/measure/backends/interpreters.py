"""interpreters: concurrent.futures.InterpreterPoolExecutor (CPython 3.14+).

Each worker is a subinterpreter with its own GIL, in one process: tasks and results
cross interpreters by pickle, like processes, but start-up is cheaper.  The workload's
module is imported in every subinterpreter, so workloads use only modules that support
subinterpreters (the standard library's do).

Like the processes backend, the pool installs the batch's task once per worker (its
initializer), so each task sends only a reference to ``run_installed`` and an index.
The initializer is ``functools.partial(install_task, call)``, not ``install_task`` with
``initargs``, and that matters: CPython 3.14 sends a plain function to a subinterpreter
as *code* when it looks "stateless" (``_PyFunction_VerifyStateless`` counts the globals a
function loads, not those it stores), and re-creates it there with ``__main__``'s globals.
``install_task`` only stores its global, so it would run as a copy whose ``global
_installed`` is the subinterpreter's ``__main__._installed``, while ``run_installed``
(which loads it, so it is pickled by reference) reads ``_warm._installed``: still None.
A partial is never shared as code; it is pickled, and its function by reference, so the
task lands in ``_warm`` as imported in that subinterpreter, whose module globals live as
long as the worker (one subinterpreter per worker thread, kept between tasks).
"""

from __future__ import annotations

import concurrent.futures
import functools
import platform
from collections.abc import Sequence

from gilbench.measure.backends import ExecutorBackend
from gilbench.measure.backends._warm import hold_worker, install_task, run_installed
from gilbench.measure.batch import Batch, TaskResult, unstamped


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
        # A partial, never install_task itself: see the module docstring.
        install = functools.partial(install_task, batch.stamped_call)
        self._pool = pool_class(
            max_workers=self.workers, thread_name_prefix="gilbench-interp", initializer=install
        )
        module = batch.workload.func.__module__
        # One subinterpreter starts per submit while none is idle: holding each warm-up
        # task starts them all (and imports the workload in each) before timing.
        for hold_s in (0.05, 0.2, 1.0):
            args = ([module] * self.workers, [hold_s] * self.workers)
            if len(set(self._pool.map(hold_worker, *args))) >= self.workers:
                break
        # Fails (AssertionError from run_installed) if a worker did not keep the task.
        list(self._pool.map(run_installed, range(min(self.workers, batch.size))))

    def run(self, batch: Batch) -> Sequence[TaskResult]:
        assert self._pool is not None, "start() first"
        # Each subinterpreter holds this batch's task since start(): only indices travel.
        results, self.finish_times = unstamped(
            list(self._pool.map(run_installed, range(batch.size)))
        )
        return results
