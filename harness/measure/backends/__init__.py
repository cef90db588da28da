"""Backends: how a batch is executed.  One interface, one module per backend.

A backend is created with a worker count, started (pools created and warmed: never
timed), asked to run batches (timed), and closed.  The registry is lazy so that a
pyperf worker imports only the backend it measures.
"""

from __future__ import annotations

import importlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Executor
from types import TracebackType
from typing import ClassVar

from gilbench.measure.batch import Batch, TaskResult, unstamped
from gilbench.measure.pinning import report_affinity, thread_cpus
from gilbench.vocabulary import backend_label

__all__ = [
    "Backend",
    "ExecutorBackend",
    "UnknownBackendError",
    "backend_label",
    "backend_names",
    "describe",
    "get_backend",
]

# name -> "module:Class".  Adding a backend is adding its module and one line here.
_BACKENDS: dict[str, str] = {
    "serial": "gilbench.measure.backends.serial:SerialBackend",
    "threads": "gilbench.measure.backends.threads:ThreadsBackend",
    "processes": "gilbench.measure.backends.processes:ProcessesBackend",
    "asyncio": "gilbench.measure.backends.asyncio_loop:AsyncioBackend",
    "interpreters": "gilbench.measure.backends.interpreters:InterpretersBackend",
}


class UnknownBackendError(LookupError):
    """Raised for a backend name that is not registered; the message lists valid names."""


class Backend(ABC):
    """Runs batches with ``workers`` concurrent workers."""

    name: ClassVar[str]
    #: True for backends whose concurrency is always 1 (only workers=1 is measured).
    single_worker: ClassVar[bool] = False

    def __init__(self, workers: int, start_method: str | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.start_method = start_method
        #: When each task of the last batch finished (``time.perf_counter``), where the
        #: backend's workers stamp it (pools): the batch's tail (gilbench.measure.tail).
        self.finish_times: list[float] = []

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this backend cannot run on this interpreter, or None when it can."""
        return None

    @classmethod
    def start_methods(cls) -> tuple[str | None, ...]:
        """The variants this backend runs as (process start methods); (None,) if none."""
        return (None,)

    @classmethod
    def default_start_method(cls) -> str | None:
        """The variant used when none is asked for."""
        return cls.start_methods()[0]

    @abstractmethod
    def start(self, batch: Batch) -> None:
        """Create and warm the pool or loop, so the first timed batch pays no start-up."""

    @abstractmethod
    def run(self, batch: Batch) -> Sequence[TaskResult]:
        """Run every task of ``batch`` and return their ``(index, result)`` pairs."""

    def close(self) -> None:  # noqa: B027 - backends without resources need not override
        """Release pools, loops and threads."""

    def worker_affinities(self) -> list[frozenset[int]]:
        """The CPUs each worker may run on, read inside the workers once started (never
        timed).  Here the work runs in the measuring thread (serial, asyncio); pools
        override it.  Empty where the OS has no affinity API."""
        cpus = thread_cpus()
        return [cpus] if cpus else []

    def worker_threads(self) -> list[tuple[int, int]]:
        """The (process id, thread id) of every worker that runs tasks, for their scheduler
        statistics (gilbench.measure.shares).  Here the work runs in the measuring thread
        (serial, asyncio); pools override it.  Call it from the measuring thread."""
        return [(os.getpid(), threading.get_native_id())]

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ExecutorBackend(Backend):
    """A backend that is a concurrent.futures executor: ``start`` creates ``_pool``."""

    _pool: Executor | None = None

    def run(self, batch: Batch) -> Sequence[TaskResult]:
        assert self._pool is not None, "start() first"
        results, self.finish_times = unstamped(
            list(self._pool.map(batch.stamped_call, range(batch.size)))
        )
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def worker_threads(self) -> list[tuple[int, int]]:
        """The pool's threads (threads and subinterpreters: a ThreadPoolExecutor and its
        subclass InterpreterPoolExecutor keep them in ``_threads``), all started by
        ``start``."""
        threads = getattr(self._pool, "_threads", ())
        pid = os.getpid()
        return [(pid, t.native_id) for t in threads if t.native_id is not None]

    #: Holds of the affinity probe, longer each try, until every worker has taken one.
    AFFINITY_HOLDS_S: ClassVar[tuple[float, ...]] = (0.01, 0.05, 0.2, 1.0)

    def worker_affinities(self) -> list[frozenset[int]]:
        """One probe per worker (gilbench.measure.pinning.report_affinity), each held
        briefly so that every idle worker takes one, as the warm-up does: a thread's,
        process's or subinterpreter's own affinity, as the kernel applies it to its work."""
        assert self._pool is not None, "start() first"
        seen: dict[tuple[int, int], frozenset[int]] = {}
        for hold_s in self.AFFINITY_HOLDS_S:
            for pid, tid, cpus in self._pool.map(report_affinity, [hold_s] * self.workers):
                seen[pid, tid] = cpus
            if len(seen) >= self.workers:
                break
        return [cpus for cpus in seen.values() if cpus]


def backend_names() -> list[str]:
    """Every registered backend name, in registry order."""
    return list(_BACKENDS)


def get_backend(name: str) -> type[Backend]:
    """The backend class called ``name``; raises UnknownBackendError listing valid names."""
    try:
        module_name, class_name = _BACKENDS[name].split(":")
    except KeyError:
        valid = ", ".join(_BACKENDS)
        raise UnknownBackendError(f"unknown backend {name!r}; valid backends: {valid}") from None
    backend: type[Backend] = getattr(importlib.import_module(module_name), class_name)
    return backend


def describe(backend: type[Backend]) -> str:
    """The first line of the backend's docstring."""
    return (backend.__doc__ or "").strip().splitlines()[0]
