"""threads: a ThreadPoolExecutor.

Relies on the GIL (or, on free-threaded builds, the executor's own locking) only for
the executor's internal queue; tasks share nothing the harness reads during the batch.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from harness.backends import Backend
from harness.batch import Batch, TaskResult


class ThreadsBackend(Backend):
    """concurrent.futures.ThreadPoolExecutor with `workers` threads, started before timing."""

    name = "threads"
    _pool: ThreadPoolExecutor | None = None

    def start(self, batch: Batch) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gilbench")
        # The executor starts threads lazily, one per submit while none is idle.  Tasks
        # that wait at a barrier keep every thread busy, so all `workers` threads exist
        # before the first timed batch.
        barrier = threading.Barrier(self.workers)
        list(self._pool.map(lambda _: barrier.wait(timeout=30), range(self.workers)))
        list(self._pool.map(batch.call, range(min(self.workers, batch.size))))

    def run(self, batch: Batch) -> list[TaskResult]:
        assert self._pool is not None, "start() first"
        return list(self._pool.map(batch.call, range(batch.size)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
