"""Workloads that misbehave on purpose, for the reliability tests and ``nox -s chaos``.

Not part of the catalogue (the leading underscore keeps the registry from importing it);
name it to use it: ``gilbench run --workloads-from gilbench.benchmarks._chaos --workload chaos``.
"""

from __future__ import annotations

import time

from gilbench.benchmarks._registry import workload

SERIAL_AND_THREADS = ("serial", "threads")


def _summed(result: int, n: int) -> bool:
    return result == n * (n - 1) // 2


@workload("chaos.ok", kind="cpu", params={"n": [20_000]}, tasks=4, check=_summed,
          backends=SERIAL_AND_THREADS)  # fmt: skip
def ok(n: int) -> int:
    """A well-behaved task: sums a range."""
    return sum(range(n))


def _anything(result: object, **_: object) -> bool:
    return True


@workload("chaos.fail", kind="cpu", tasks=2, check=_anything, backends=SERIAL_AND_THREADS)
def fail() -> None:
    """Always raises: its points must be recorded as failed and the run must go on."""
    raise ValueError("chaos.fail always raises")


@workload("chaos.hang", kind="io", tasks=1, check=_anything, backends=("serial",))
def hang() -> None:
    """Never returns in any reasonable time: its point must be killed at its time limit."""
    time.sleep(3600)


def _slept(result: float, ms: float) -> bool:
    return result == ms


@workload("chaos.slow", kind="io", params={"ms": [150.0]}, tasks=2, check=_slept,
          backends=SERIAL_AND_THREADS)  # fmt: skip
def slow(ms: float) -> float:
    """A task slow enough that a run of a few points can be interrupted in the middle."""
    time.sleep(ms / 1000)
    return ms
