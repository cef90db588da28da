"""serial: the baseline every speedup is measured against."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from gilbench.measure.backends import Backend
from gilbench.measure.batch import Batch, InOrder, TaskResult


class SerialBackend(Backend):
    """One task after another in the measuring thread: the baseline for speedup."""

    name = "serial"
    single_worker: ClassVar[bool] = True

    def start(self, batch: Batch) -> None:
        batch.call(0)  # import and warm the workload's code path outside the timing

    def run(self, batch: Batch) -> Sequence[TaskResult]:
        # Per task, only the call: the function and its arguments are bound once, and the
        # results are paired with their indices when checked, not here.
        func, kwargs, tasks = batch.workload.func, batch.task_kwargs, range(batch.size)
        if kwargs:
            return InOrder([func(**kwargs) for _ in tasks])
        return InOrder([func() for _ in tasks])
