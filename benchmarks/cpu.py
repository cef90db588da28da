"""cpu: pure-Python work that holds the GIL for its whole duration.

Each check uses a second, independent way to get the right answer.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import cache
from typing import Any

from gilbench.benchmarks._registry import BATCH_TASKS, workload


@cache
def _fib_expected(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _is_fib(result: int, n: int) -> bool:
    return result == _fib_expected(n)


@workload("cpu.fib", kind="cpu", params={"n": [23, 27]}, tasks=BATCH_TASKS, check=_is_fib)
def fib(n: int) -> int:
    """Recursive Fibonacci in pure Python: a few ms per task, never releases the GIL.

    The lesson's claim that threads do not speed up CPU-bound Python, as a number.
    """
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@cache
def _mandelbrot_expected(size: int, iterations: int) -> int:
    inside = 0
    for row in range(size):
        for col in range(size):
            c = complex(-2.0 + 2.5 * col / size, -1.25 + 2.5 * row / size)
            z = 0j
            for _ in range(iterations):
                z = z * z + c
                if abs(z) > 2.0:
                    break
            else:
                inside += 1
    return inside


def _mandelbrot_ok(result: int, size: int, iterations: int) -> bool:
    return result == _mandelbrot_expected(size, iterations)


@workload(
    "cpu.mandelbrot",
    kind="cpu",
    params={"size": [48, 96], "iterations": [40]},
    tasks=BATCH_TASKS,
    check=_mandelbrot_ok,
)
def mandelbrot(size: int, iterations: int) -> int:
    """Mandelbrot set on a size x size grid with float arithmetic: a numeric kernel.

    Counts the grid points that stay bounded for ``iterations`` steps.
    """
    inside = 0
    for row in range(size):
        ci = -1.25 + 2.5 * row / size
        for col in range(size):
            cr = -2.0 + 2.5 * col / size
            zr = zi = 0.0
            for _ in range(iterations):
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                if zr * zr + zi * zi > 4.0:
                    break
            else:
                inside += 1
    return inside


@cache
def _primes_below(limit: int) -> int:
    sieve = bytearray([1]) * limit
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, limit, i)))
    return sum(sieve)


def _primes_ok(result: int, limit: int) -> bool:
    return result == _primes_below(limit)


@workload(
    "cpu.primes", kind="cpu", params={"limit": [7_000, 30_000]}, tasks=BATCH_TASKS, check=_primes_ok
)
def primes(limit: int) -> int:
    """Count primes below ``limit`` by trial division: integer arithmetic and loops."""
    count = 0
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


_WORDS = ("lock", "thread", "event", "queue", "gil", "async", "core", "pool", "task", "wait")


@cache
def _text(words: int) -> str:
    rng = random.Random(words)
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _wordcount_ok(result: tuple[str, int, int], words: int) -> bool:
    ((top, top_count),) = Counter(_text(words).split()).most_common(1)
    return result == (top, top_count, words)


@workload(
    "cpu.wordcount",
    kind="cpu",
    params={"words": [10_000, 50_000]},
    tasks=BATCH_TASKS,
    check=_wordcount_ok,
)
def wordcount(words: int) -> tuple[str, int, int]:
    """Count words of generated text in a dict: string handling and hashing.

    Returns the most frequent word, its count and the total.
    """
    counts: dict[str, int] = {}
    total = 0
    word: list[str] = []
    for char in _text(words) + " ":
        if char == " ":
            if word:
                token = "".join(word)
                counts[token] = counts.get(token, 0) + 1
                total += 1
                word = []
        else:
            word.append(char)
    top = max(counts, key=lambda key: (counts[key], key))
    return top, counts[top], total


@cache
def _document(items: int) -> dict[str, Any]:
    rng = random.Random(items)
    return {
        "items": [
            {
                "id": i,
                "name": f"item-{i}",
                "price": round(rng.uniform(0, 100), 2),
                "tags": [rng.choice(_WORDS) for _ in range(3)],
                "active": bool(i % 2),
                "parent": None,
            }
            for i in range(items)
        ]
    }


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return "{" + ",".join(_encode(str(k)) + ":" + _encode(v) for k, v in value.items()) + "}"


def _json_ok(result: str, items: int) -> bool:
    import json

    return bool(json.loads(result) == _document(items))


@workload(
    "cpu.json_encode", kind="cpu", params={"items": [600, 3000]}, tasks=BATCH_TASKS, check=_json_ok
)
def json_encode(items: int) -> str:
    """Encode a nested document to JSON with a pure-Python recursive encoder."""
    return _encode(_document(items))


def _loop_sum(result: int, loops: int) -> bool:
    # i*i % 7 repeats with period 7 (0, 1, 4, 2, 2, 4, 1: 14 a period): a closed form.
    return result == 14 * (loops // 7) + sum(r * r % 7 for r in range(loops % 7))


@workload(
    "cpu.task_size",
    kind="cpu",
    # The task's length is the point: about 1 ms (the default, and the decision row),
    # 30 µs, then 10 µs to 10 ms (at about 80 ns a step).  A profile that limits swept
    # values keeps the first two, which bracket where a process pool breaks even.
    params={"loops": [12_000, 400, 120, 1_200, 4_000, 40_000, 120_000]},
    tasks=16,
    check=_loop_sum,
    backends=("serial", "threads", "processes", "interpreters"),
    sweep_params=True,
)
def task_size(loops: int) -> int:
    """A pure-Python loop from 10 µs to 10 ms long: where each pool breaks even.

    ``loops`` steps with a small argument and result; the report finds the task length
    at which each parallel backend breaks even with serial and with threads.  A process
    pool pickles and ships every task and result and wakes a worker for it; a thread
    pool hands it over in memory; below some task length that cost is the work.
    Measured at one worker per core, at each length.
    """
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total
