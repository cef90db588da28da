"""serial: the baseline every speedup is measured against."""

from __future__ import annotations

from typing import ClassVar

from harness.backends import Backend
from harness.batch import Batch, TaskResult


class SerialBackend(Backend):
    """One task after another in the measuring thread: the baseline for speedup."""

    name = "serial"
    single_worker: ClassVar[bool] = True

    def start(self, batch: Batch) -> None:
        batch.call(0)  # import and warm the workload's code path outside the timing

    def run(self, batch: Batch) -> list[TaskResult]:
        # The function and its arguments, looked up once: per task, only the call.
        func, kwargs = batch.workload.func, batch.task_kwargs
        return [(index, func(**kwargs)) for index in range(batch.size)]
