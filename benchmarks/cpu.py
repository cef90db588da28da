"""cpu: pure-Python work that holds the GIL for its whole duration."""

from __future__ import annotations

from functools import cache

from benchmarks._registry import workload


@cache
def _fib_expected(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _is_fib(result: int, n: int) -> bool:
    return result == _fib_expected(n)


@workload("cpu.fib", kind="cpu", params={"n": [23, 27]}, tasks=32, check=_is_fib)
def fib(n: int) -> int:
    """Recursive Fibonacci in pure Python: a few ms per task, never releases the GIL.

    The lesson's claim that threads do not speed up CPU-bound Python, as a number.
    """
    return n if n < 2 else fib(n - 1) + fib(n - 2)
