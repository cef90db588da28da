"""threads: a ThreadPoolExecutor.

Relies on the GIL (or, on free-threaded builds, the executor's own locking) only for
the executor's internal queue; tasks share nothing the harness reads during the batch.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from gilbench.measure.backends import ExecutorBackend
from gilbench.measure.batch import Batch


class ThreadsBackend(ExecutorBackend):
    """concurrent.futures.ThreadPoolExecutor with `workers` threads, started before timing."""

    name = "threads"

    def start(self, batch: Batch) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gilbench")
        # The executor starts threads lazily, one per submit while none is idle.  Tasks
        # that wait at a barrier keep every thread busy, so all `workers` threads exist
        # before the first timed batch.
        barrier = threading.Barrier(self.workers)
        list(self._pool.map(lambda _: barrier.wait(timeout=30), range(self.workers)))
        list(self._pool.map(batch.call, range(min(self.workers, batch.size))))
