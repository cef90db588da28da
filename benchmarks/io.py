"""io: work that waits (sleep, sockets, files, subprocesses) and releases the GIL meanwhile."""

from __future__ import annotations

import asyncio
import time

from benchmarks._registry import workload


def _slept(result: float, ms: float) -> bool:
    return result == ms


async def _sleep_async(ms: float) -> float:
    await asyncio.sleep(ms / 1000)
    return ms


@workload(
    "io.sleep",
    kind="io",
    params={"ms": [10.0]},
    tasks=64,
    check=_slept,
    async_form=_sleep_async,
)
def sleep(ms: float) -> float:
    """time.sleep(ms): the lesson's five threads that sleep 1 s and end in 1 s, not 5 s.

    ``time.sleep`` releases the GIL, so threads overlap the waits; asyncio overlaps them
    with ``asyncio.sleep`` on one thread.
    """
    time.sleep(ms / 1000)
    return ms
