"""asyncio: tasks as coroutines on one event loop, at most `workers` in flight.

A workload without an async form is called inline on the loop: that blocks the loop
for the task's duration, which is the honest picture of asyncio running CPU work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

from gilbench.measure.backends import Backend
from gilbench.measure.batch import Batch, TaskResult


async def _worker(
    task: Callable[[int], Awaitable[TaskResult]], indices: Iterator[int], out: list[TaskResult]
) -> None:
    # `workers` of these share one iterator of task indices: at most `workers` tasks are
    # in flight, without a semaphore or a Task object per task.
    for index in indices:
        out.append(await task(index))


class AsyncioBackend(Backend):
    """asyncio event loop, tasks as coroutines, at most `workers` in flight."""

    name = "asyncio"
    _loop: asyncio.AbstractEventLoop | None = None

    def start(self, batch: Batch) -> None:
        self._loop = asyncio.new_event_loop()
        # Warm the loop, the selector and the workload's code on a small batch.
        self.run(batch.resized(min(self.workers, batch.size)))

    def _coroutine_task(self, batch: Batch) -> Callable[[int], Awaitable[TaskResult]]:
        if batch.acall is not None:
            return batch.acall
        call = batch.call

        async def inline(index: int) -> TaskResult:
            return call(index)

        return inline

    async def _gather(self, batch: Batch) -> list[TaskResult]:
        task = self._coroutine_task(batch)
        indices = iter(range(batch.size))
        out: list[TaskResult] = []
        await asyncio.gather(
            *(_worker(task, indices, out) for _ in range(min(self.workers, batch.size)))
        )
        return out

    def run(self, batch: Batch) -> list[TaskResult]:
        assert self._loop is not None, "start() first"
        return self._loop.run_until_complete(self._gather(batch))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None
