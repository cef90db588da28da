"""Every backend runs a real batch completely, and the batch check catches bad backends."""

from __future__ import annotations

import threading

import pytest

from gilbench.benchmarks import get_workload
from gilbench.measure.backends import UnknownBackendError, backend_names, get_backend
from gilbench.measure.batch import Batch, BatchCheckError

FIB = Batch(get_workload("cpu.fib"), {"n": 12}, 9)
SLEEP = Batch(get_workload("io.sleep"), {"ms": 1.0}, 9)


@pytest.mark.parametrize("name", backend_names())
@pytest.mark.parametrize("batch", [FIB, SLEEP], ids=["cpu.fib", "io.sleep"])
def test_backend_runs_every_task_exactly_once(name: str, batch: Batch) -> None:
    backend_class = get_backend(name)
    reason = backend_class.unavailable_reason()
    if reason:
        pytest.skip(f"{name}: {reason}")
    workers = 1 if backend_class.single_worker else 3
    with backend_class(workers) as backend:
        backend.start(batch)
        for _ in range(2):  # a started backend runs many batches
            results = backend.run(batch)
            batch.verify(results)
            assert len(results) == batch.size


@pytest.mark.parametrize("method", get_backend("processes").start_methods())
def test_process_pool_is_started_and_warm_before_the_first_batch(method: str) -> None:
    backend_class = get_backend("processes")
    with backend_class(3, start_method=method) as backend:
        backend.start(FIB)
        pool = backend._pool
        assert pool is not None
        assert len(pool._processes) == 3  # all workers exist before any timing
        FIB.verify(backend.run(FIB))


def test_thread_pool_threads_all_exist_after_start() -> None:
    before = threading.active_count()
    with get_backend("threads")(4) as backend:
        backend.start(FIB)
        assert threading.active_count() - before == 4


def test_asyncio_uses_the_async_form_when_there_is_one() -> None:
    assert SLEEP.acall is not None
    assert FIB.acall is None  # cpu.fib runs inline on the loop


def test_verify_catches_dropped_repeated_and_wrong_results() -> None:
    good = [FIB.call(i) for i in range(FIB.size)]
    FIB.verify(good)
    with pytest.raises(BatchCheckError, match="missing"):
        FIB.verify(good[:-1])
    with pytest.raises(BatchCheckError, match="repeated"):
        FIB.verify([*good[:-1], good[0]])
    with pytest.raises(BatchCheckError, match="fails the workload's check"):
        FIB.verify([*good[:-1], (FIB.size - 1, -1)])


def test_unknown_backend_lists_valid_names() -> None:
    with pytest.raises(UnknownBackendError, match="threads"):
        get_backend("greenlets")


def test_an_unavailable_backend_says_why_instead_of_crashing() -> None:
    import concurrent.futures

    reason = get_backend("interpreters").unavailable_reason()
    if hasattr(concurrent.futures, "InterpreterPoolExecutor"):
        assert reason is None
    else:
        assert reason is not None
        assert "3.14" in reason
