"""Workloads that misbehave on purpose, for the reliability tests and ``nox -s chaos``.

Not part of the catalogue: like your own workloads, they are listed and run only where
named, ``gilbench run --workloads-from gilbench.selfcheck.chaos_workloads --workload chaos``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from gilbench.benchmarks import workload

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


#: A gate that lets every measurement through (the default: no test is holding it).
NO_GATE = "none"
GATE_LIMIT_S = 600


@contextlib.contextmanager
def _through_the_gate(gate: str, ms: float) -> Iterator[dict[str, object]]:
    """Hold the measurement, in its pyperf worker and before anything is timed, at the
    gate: a folder where a test hands out passes.  A file ``open`` lets every measurement
    through; else a measurement goes on only if it claims a ``ticket`` (renamed, so one
    ticket lets exactly one measurement through) and, while it waits, it shows
    ``waiting-<pid>``.  So a test waits for a state (a point saved, the next one held),
    never for a moment that depends on the machine's speed."""
    if gate != NO_GATE:
        folder = Path(gate)
        waiting = folder / f"waiting-{os.getpid()}"
        give_up = time.monotonic() + GATE_LIMIT_S  # a test that died never opens it
        while not (folder / "open").exists():
            if time.monotonic() > give_up:
                raise TimeoutError(f"nobody opened the gate {gate} in {GATE_LIMIT_S} s")
            try:
                (folder / "ticket").rename(folder / f"used-{os.getpid()}")
                break
            except FileNotFoundError:
                waiting.touch()
                time.sleep(0.01)
        waiting.unlink(missing_ok=True)
    yield {}


def _slept(result: float, ms: float, gate: str) -> bool:
    return result == ms


@workload("chaos.gated", kind="io", params={"ms": [10.0], "gate": [NO_GATE]}, tasks=2,
          check=_slept, backends=SERIAL_AND_THREADS, setup=_through_the_gate)  # fmt: skip
def gated(ms: float, gate: str) -> float:
    """Sleeps ms milliseconds, once the gate lets its measurement through: a run a test
    interrupts while a point is in progress (--param chaos.gated:gate=FOLDER)."""
    time.sleep(ms / 1000)
    return ms
