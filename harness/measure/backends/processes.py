"""processes: a ProcessPoolExecutor with an explicit, recorded start method.

Tasks and results cross process boundaries by pickle, which is part of what this
backend costs; the pool itself is started and warmed before timing.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from gilbench.measure.backends import ExecutorBackend
from gilbench.measure.backends._warm import hold_worker, install_task, run_installed
from gilbench.measure.batch import Batch, TaskResult, unstamped

# Preference order for the default: forkserver is CPython 3.14's default on Linux and
# safe with threads; fork is fastest to start but unsafe once threads exist.
_PREFERRED = ("forkserver", "spawn", "fork")


class ProcessesBackend(ExecutorBackend):
    """concurrent.futures.ProcessPoolExecutor with `workers` processes (start method recorded)."""

    name = "processes"

    @classmethod
    def start_methods(cls) -> tuple[str | None, ...]:
        available = multiprocessing.get_all_start_methods()
        return tuple(method for method in _PREFERRED if method in available)

    def start(self, batch: Batch) -> None:
        method = self.start_method or self.default_start_method()
        context = multiprocessing.get_context(method)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context,
            initializer=install_task, initargs=(batch.stamped_call,),
        )  # fmt: skip
        module = batch.workload.func.__module__
        # The executor spawns a process per submit while none is idle; holding each
        # warm-up task makes it start all of them.  Retry with longer holds if the
        # machine is too slow for that.
        for hold_s in (0.02, 0.2, 1.0):
            started = set(
                self._pool.map(hold_worker, [module] * self.workers, [hold_s] * self.workers)
            )
            if len(started) >= self.workers:
                break
        list(self._pool.map(run_installed, range(min(self.workers, batch.size))))

    def run(self, batch: Batch) -> Sequence[TaskResult]:
        assert self._pool is not None, "start() first"
        # The workers hold this batch's task since start(): only indices travel.
        results, self.finish_times = unstamped(
            list(self._pool.map(run_installed, range(batch.size)))
        )
        return results

    def worker_threads(self) -> list[tuple[int, int]]:
        """Each pool process's main thread (tid == pid), which runs its tasks."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [(pid, pid) for pid in processes]
