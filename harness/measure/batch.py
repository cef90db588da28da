"""A batch: the fixed set of tasks one measurement runs, and the check of its results.

Strong scaling: the batch is the same for every backend and worker count, so
speedup = serial time / backend time.  Each task returns ``(index, result)`` so that a
backend that drops or repeats a task is caught, whatever the workload returns.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from gilbench.benchmarks import HELPER_PIDS, ParamValue, Workload

TaskResult = tuple[int, Any]


class InOrder(Sequence[TaskResult]):
    """Results of tasks run in index order, paired with their indices only when read.

    The serial backend returns this so that building ``(index, result)`` pairs, which
    costs as much as calling a trivial task, happens in the check, outside the timing.
    """

    def __init__(self, results: list[Any]) -> None:
        self._results = results

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[TaskResult]:
        return enumerate(self._results)

    @overload
    def __getitem__(self, index: int) -> TaskResult: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TaskResult]: ...
    def __getitem__(self, index: int | slice) -> TaskResult | Sequence[TaskResult]:
        if isinstance(index, slice):
            return list(self)[index]
        return (range(len(self._results))[index], self._results[index])


class BatchCheckError(AssertionError):
    """A batch came back with missing, repeated or wrong task results."""


def run_task(func: Callable[..., Any], params: dict[str, Any], index: int) -> TaskResult:
    """Call one task.  Module-level so process pools can pickle it by reference."""
    return index, func(**params)


#: A pool task's result with the moment it finished (``time.perf_counter``: on Linux one
#: monotonic clock for every process, so a pool process's stamps compare with the parent's).
StampedResult = tuple[int, Any, float]


def run_stamped(func: Callable[..., Any], params: dict[str, Any], index: int) -> StampedResult:
    """Call one task and stamp when it finished: a pool batch's finishing times give the
    share of its workers left idle while the last tasks ran (gilbench.measure.tail)."""
    result = func(**params)
    return index, result, time.perf_counter()


def unstamped(results: Sequence[StampedResult]) -> tuple[list[TaskResult], list[float]]:
    """Stamped results as ``(index, result)`` pairs, and their finishing times apart."""
    return [(index, result) for index, result, _ in results], [end for *_, end in results]


async def run_task_async(
    func: Callable[..., Awaitable[Any]], params: dict[str, Any], index: int
) -> TaskResult:
    """Await one task's async form."""
    return index, await func(**params)


def enter_setup(
    stack: contextlib.ExitStack, workload: Workload, params: Mapping[str, ParamValue]
) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Run the workload's setup (undone when ``stack`` closes); return the extra task
    arguments it yields and, apart, the pids of helper processes it started."""
    extras: dict[str, Any] = {}
    if workload.setup is not None:
        extras = dict(stack.enter_context(workload.setup(**params)))
    helper_pids = tuple(extras.pop(HELPER_PIDS, ()))
    return extras, helper_pids


@dataclass(frozen=True)
class Batch:
    """``size`` calls of ``workload`` with ``params``.

    ``extras`` are keyword arguments from the workload's setup (a server's port, a
    temporary folder): passed to every task, but not part of the point's coordinates.
    """

    workload: Workload
    params: dict[str, ParamValue]
    size: int
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a batch needs at least one task")

    @functools.cached_property
    def call(self) -> Callable[[int], TaskResult]:
        """The picklable sync task: ``call(index) -> (index, result)``."""
        return functools.partial(run_task, self.workload.func, self.task_kwargs)

    @functools.cached_property
    def stamped_call(self) -> Callable[[int], StampedResult]:
        """The picklable sync task with its finishing time: ``(index, result, end)``."""
        return functools.partial(run_stamped, self.workload.func, self.task_kwargs)

    @functools.cached_property
    def acall(self) -> Callable[[int], Awaitable[TaskResult]] | None:
        """The async task, or None when the workload has no async form."""
        if self.workload.async_func is None:
            return None
        return functools.partial(run_task_async, self.workload.async_func, self.task_kwargs)

    @property
    def task_kwargs(self) -> dict[str, Any]:
        """What every task is called with: the params plus the setup's extras."""
        return {**self.params, **self.extras}

    def resized(self, size: int) -> Batch:
        """The same tasks, ``size`` of them (for warming a backend up)."""
        return Batch(self.workload, self.params, size, self.extras)

    def verify(self, results: Sequence[TaskResult]) -> None:
        """Raise BatchCheckError unless every task ran exactly once with a right result."""
        indices = sorted(index for index, _ in results)
        if indices != list(range(self.size)):
            seen = set(indices)
            missing = sorted(set(range(self.size)) - seen)[:5]
            repeated = sorted({i for i in indices if indices.count(i) > 1})[:5]
            raise BatchCheckError(
                f"{self.workload.name}: expected {self.size} distinct tasks, got "
                f"{len(results)} results (missing {missing}, repeated {repeated})"
            )
        for index, result in results:
            if not self.workload.check(result, **self.params):
                raise BatchCheckError(
                    f"{self.workload.name}: task {index} returned {result!r}, "
                    f"which fails the workload's check"
                )
