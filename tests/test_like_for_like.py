"""Like for like across backends: subinterpreters get the batch's task installed once per
worker, as process pools do, so only an index travels per task.

On CPython 3.14 an initializer that is a plain function which only *stores* its global
is sent to the subinterpreter as code and re-created there with ``__main__``'s globals
(``_PyFunction_VerifyStateless`` counts the globals a function loads, not those it
stores), so ``install_task`` itself would install the task into the wrong namespace.
The backend passes ``functools.partial(install_task, call)``, which is pickled instead.
Here that is checked with a stand-in executor that models 3.14's rule (this is 3.11),
and with the real InterpreterPoolExecutor where a 3.14 interpreter is found.
"""

from __future__ import annotations

import concurrent.futures
import dis
import functools
import os
import subprocess
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyperf
import pytest

from gilbench.benchmarks import get_workload
from gilbench.measure.backends import _warm, get_backend
from gilbench.measure.backends.interpreters import InterpretersBackend
from gilbench.measure.batch import Batch
from gilbench.run.pythons import discover
from gilbench.vocabulary import Point

ROOT = Path(__file__).resolve().parents[1]
FIB = Batch(get_workload("cpu.fib"), {"n": 12}, 6)


def _stateless(func: object) -> bool:
    """3.14's rule, simplified: a plain function without closure or defaults that loads
    no global (storing one does not count) is shared as code."""
    if not isinstance(func, types.FunctionType) or func.__closure__ or func.__defaults__:
        return False
    return not any(i.opname == "LOAD_GLOBAL" for i in dis.get_instructions(func))


def _as_shared(func: Callable[..., Any]) -> Callable[..., Any]:
    """What a subinterpreter runs: a stateless function re-created with fresh globals
    (its ``__main__``'s), anything else as it is (pickled by reference)."""
    if _stateless(func):
        return types.FunctionType(func.__code__, {"__builtins__": __builtins__})
    return func


class ModelInterpreterPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that runs its initializer the way 3.14 sends it to a subinterpreter."""

    created: ClassVar[list[ModelInterpreterPool]] = []

    def __init__(
        self,
        max_workers: int,
        thread_name_prefix: str = "",
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.initializer = initializer
        self.initargs = initargs
        shared = _as_shared(initializer) if initializer is not None else None
        super().__init__(max_workers, thread_name_prefix, shared, initargs)
        ModelInterpreterPool.created.append(self)


@pytest.fixture
def model_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """3.14's InterpreterPoolExecutor, as modelled here, on any Python."""
    monkeypatch.setattr(concurrent.futures, "InterpreterPoolExecutor", ModelInterpreterPool,
                        raising=False)  # fmt: skip
    monkeypatch.setattr(_warm, "_installed", None)
    ModelInterpreterPool.created.clear()


def test_the_model_reproduces_the_failed_attempt(model_pool: None) -> None:
    assert _stateless(_warm.install_task)  # it only stores _installed
    assert not _stateless(_warm.run_installed)  # it loads it: pickled by reference
    pool = ModelInterpreterPool(2, initializer=_warm.install_task, initargs=(FIB.call,))
    try:
        with pytest.raises(AssertionError, match="without install_task"):
            list(pool.map(_warm.run_installed, range(2)))
    finally:
        pool.shutdown(wait=True)


def test_subinterpreters_get_the_task_once_per_worker(model_pool: None) -> None:
    assert InterpretersBackend.unavailable_reason() is None
    with get_backend("interpreters")(2) as backend:
        backend.start(FIB)
        (pool,) = ModelInterpreterPool.created
        assert isinstance(pool.initializer, functools.partial)
        assert pool.initializer.func is _warm.install_task
        assert pool.initializer.args == (FIB.stamped_call,)
        assert pool.initargs == ()
        calls: list[object] = []
        real_map = pool.map

        def spy(fn: Callable[..., Any], *iterables: Any, **kwargs: Any) -> Iterator[Any]:
            calls.append(fn)
            return real_map(fn, *iterables, **kwargs)

        pool.map = spy  # type: ignore[method-assign]
        results = backend.run(FIB)
        FIB.verify(results)
        assert calls == [_warm.run_installed]  # an index per task, nothing else
        assert len(backend.worker_threads()) == 2


# -- a real 3.14 -------------------------------------------------------------------------------

PY314 = [p for p in discover() if p.version.startswith("3.14") and not p.free_threaded]


@pytest.fixture(scope="module")
def py314(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv of a (default build) 3.14 interpreter with pyperf, psutil and gilbench."""
    if not PY314:
        pytest.skip("no CPython 3.14 found: build one with `gilbench python build 3.14.7`")
    env = tmp_path_factory.mktemp("py314") / "venv"
    subprocess.run([PY314[0].executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "pyperf", "psutil"], check=True, timeout=300)
    subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, timeout=300)
    return python


def test_a_real_interpreter_pool_keeps_the_installed_task(py314: Path, tmp_path: Path) -> None:
    point = Point("cpu.fib", {"n": 14}, "interpreters", 2, min(2, len(os.sched_getaffinity(0))), 8)
    output = tmp_path / "point.json"
    subprocess.run(
        [str(py314), "-m", "gilbench.measure.bridge", "--point", point.to_json(),
         "--processes", "1", "--values", "2", "--warmups", "0", "--loops", "1",
         "--hook", "gilbench_run_facts", "--quiet", "--output", str(output)],
        check=True, timeout=300,
    )  # fmt: skip
    (run,) = [r for r in pyperf.Benchmark.load(str(output)).get_runs() if r.values]
    meta = run.get_metadata()
    assert meta["backend"] == "interpreters"
    assert len(meta["paired_serial_s"].split()) == 2
    assert meta["share_running"] > 0
